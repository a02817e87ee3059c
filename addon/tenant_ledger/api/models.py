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
    cutoff_approved: bool
    ha_user_ids: list[str]
    updated_at: str


class Created(Reply):
    id: str


class JsonObject(Reply):
    """Any JSON object (a stored statement's document)."""

    model_config = {"extra": "allow"}
