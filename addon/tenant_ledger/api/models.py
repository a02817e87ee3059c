"""Response models shared by several resources (the document's ``components.schemas``)."""

from typing import Literal

from pydantic import BaseModel, Field

from tenant_ledger.billing import TenantState as Status


class Reply(BaseModel):
    """An answer of the ledger (more fields may be added in later versions)."""


class ErrorDetail(Reply):
    code: str = Field(description="stable, machine-readable: invalid, not_found, conflict, …")
    message: str


class Error(Reply):
    """Every refusal: ``{"error": {"code", "message"}}``."""

    error: ErrorDetail


class Supply(Reply):
    state: Literal["on", "off"]
    cause: Literal["arrears", "landlord", "safety"] | None
    since: str
    actor: str
    reason: str


class ResourceUsage(Reply):
    """One resource of a tenant in the period so far: decimal strings in ``unit``."""

    unit: str = Field(description="the billing unit: kWh (electricity, heat) or m³ (water, gas)")
    billed: bool = Field(description="the tenant's plan has a tariff for the resource")
    period_usage: str
    period_cost: str = Field(description="the resource's usage charges (no standing charge)")
    quota: str | None
    quota_remaining: str | None
    quota_exhausted: bool | None = Field(
        description="the allowance is used up (null: no quota); only electricity's hard cap "
        "makes the status quota_exhausted, another resource's is named in status_reason"
    )


class TenantState(Reply):
    """A tenant as published (also retained over MQTT); see docs/ledger-contract.md."""

    tenant_id: str
    name: str
    currency: str
    balance: str
    status: Status
    status_reason: str
    status_since: str
    plan: Literal["prepaid", "postpaid"]
    period_start: str
    period_energy_kwh: str
    period_cost: str
    quota_kwh: str | None
    quota_remaining_kwh: str | None
    points: list[str]
    resources: dict[Literal["electricity", "water", "gas", "heat"], ResourceUsage]
    """Each resource the plan bills or the tenant holds a point of (ledger 0.5.0 on)."""
    cutoff_approved: bool
    cutoff_awaiting_approval: bool
    """A cut-off is due but waits for the landlord's approval (setting or guard)."""
    supply: Supply | None
    """The supply as Home Assistant last reported it; null: never reported (never cut)."""
    supply_action: Literal["cut", "restore", "none"]
    """What Home Assistant's executor does now (the ledger's decision)."""
    cutoff_guard_count: int
    """The mass-disconnection guard's count: other tenants cut off for arrears in the last hour
    or due for cut-off now; at ``cutoff_guard_limit`` every further cut-off needs approval."""
    cutoff_guard_limit: int
    ha_user_ids: list[str]
    updated_at: str


class Created(Reply):
    id: str


class JsonObject(Reply):
    """Any JSON object (a stored statement's document)."""

    model_config = {"extra": "allow"}
