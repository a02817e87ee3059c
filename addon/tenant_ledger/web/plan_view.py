"""A plan as one row of the plans tables: its tariff and quota for each resource it bills."""

from dataclasses import dataclass

from tenant_ledger.billing import format_kwh
from tenant_ledger.billing.resources import Resource, billing_unit
from tenant_ledger.db.catalog import PlanSettings


@dataclass(frozen=True, kw_only=True, slots=True)
class PlanRow:
    plan: PlanSettings
    tariffs: str
    """``std (electricity), water-std (water)``: what prices each resource."""
    quotas: str
    """``150.000 kWh electricity, 5.000 m³ water``: what the period includes, per resource."""


def _row(plan: PlanSettings) -> PlanRow:
    slots = [(resource, plan.tariff_for(resource)) for resource in Resource]
    billed = [(resource, slot) for resource, slot in slots if slot is not None]
    return PlanRow(
        plan=plan,
        tariffs=", ".join(f"{slot.tariff_id} ({resource})" for resource, slot in billed),
        quotas=", ".join(
            f"{format_kwh(slot.quota.included_wh)} {billing_unit(resource)} {resource}"
            for resource, slot in billed
            if slot.quota is not None
        ),
    )


def plan_rows(plans: list[PlanSettings]) -> list[PlanRow]:
    """The plans by name, as the set-up and tariffs pages list them."""
    return [_row(plan) for plan in sorted(plans, key=lambda plan: plan.name.lower())]
