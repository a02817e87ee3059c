"""A tenant's period per resource as the landlord's tenant page shows it, in the add-on's locale.

The tenant state's ``resources`` map carries exact decimal text (usage in the billing unit,
money in major units); this reads it back as ``Decimal`` and formats it, never through a float.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tenant_ledger.billing.money import to_minor
from tenant_ledger.billing.resources import RESOURCES, Resource
from tenant_ledger.i18n import Formats
from tenant_ledger.statement_render import resource_name


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourceUsage:
    resource: str
    name: str
    unit: str
    billed: bool
    usage: str
    cost: str
    quota: str | None
    quota_left: str | None


def _usage(text: str | None, formats: Formats) -> str | None:
    return None if text is None else formats.number(Decimal(text), 3)


def resource_usage(state: dict[str, Any], formats: Formats) -> list[ResourceUsage]:
    """One row per resource of the state's map, electricity first (the map's order); a
    resource this ledger does not know is left out rather than shown without a unit."""
    return [
        ResourceUsage(
            resource=key,
            name=resource_name(Resource(key), formats),
            unit=entry["unit"],
            billed=entry["billed"],
            usage=formats.number(Decimal(entry["period_usage"]), 3),
            cost=formats.amount(to_minor(Decimal(entry["period_cost"]), formats.currency)),
            quota=_usage(entry["quota"], formats),
            quota_left=_usage(entry["quota_remaining"], formats),
        )
        for key, entry in state.get("resources", {}).items()
        if key in RESOURCES
    ]
