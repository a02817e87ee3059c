"""Tariffs (versioned, each version in force from an instant) and the plans that use them."""

from decimal import Decimal
import json
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import Quota, TariffError, decode_json, parse_tariff
from tenant_ledger.billing.resources import Resource
from tenant_ledger.db import premises_store, rows, tariffs_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog, PlanSettings
from tenant_ledger.errors import LedgerError, conflict, invalid
from tenant_ledger.operations.common import require


def add_tariff_version(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tariff_id: str,
    name: str | None,
    body: Any,
    effective_from_us: int,
    resource: Resource | None = None,
) -> None:
    """A tariff's new version in force from ``effective_from_us`` (creating the tariff if new).

    A tariff prices one resource for good (``resource``; a new one electricity unless given):
    its rates are per billing unit, kWh or m³."""
    try:
        tariff = parse_tariff(decode_json(json.dumps(body, default=str)))
    except TariffError as err:
        raise LedgerError(400, "invalid_tariff", str(err)) from None
    if tariff.currency != catalog.currency:
        raise invalid(f"tariff currency {tariff.currency} is not the ledger's {catalog.currency}")
    if tariff_id not in catalog.schedules:
        rows.insert_new(
            connection,
            "tariff",
            {
                "id": tariff_id,
                "name": name or tariff_id,
                "currency": tariff.currency,
                "resource": (resource or Resource.ELECTRICITY).value,
            },
        )
    elif resource is not None and resource is not catalog.tariff_resources[tariff_id]:
        raise conflict(f"tariff {tariff_id} prices {catalog.tariff_resources[tariff_id]}")
    latest = premises_store.latest_rated(connection)
    if (
        latest is not None
        and effective_from_us < latest * 1_000_000
        and tariff_id in catalog.schedules
    ):
        raise conflict("a tariff version cannot take effect before energy already rated")
    if tariffs_store.has_version_from(connection, tariff_id, effective_from_us):
        raise conflict(f"tariff {tariff_id} already has a version from that instant")
    tariffs_store.add_version(
        connection,
        tariff_id,
        effective_from_us=effective_from_us,
        body=json.dumps(body, sort_keys=True, default=str),
        at_us=action.now_us,
    )
    audit(
        connection,
        action,
        "tariff_version",
        tariff_id,
        {"effective_from_us": effective_from_us, "tariff": body}
        | ({} if resource is None else {"resource": resource.value}),
    )


def _check_slot(catalog: Catalog, resource: Resource, tariff_id: str) -> None:
    """A plan's tariff for ``resource`` exists and prices that resource (the database refuses
    another resource's tariff in plan_tariffs too; this says it in words)."""
    require("tariff", tariff_id, catalog.schedules)
    if catalog.tariff_resources[tariff_id] is not resource:
        raise invalid(
            f"tariff {tariff_id} prices {catalog.tariff_resources[tariff_id]}, not {resource}"
        )


def _quota_columns(quota: Quota | None) -> tuple[str | None, str | None]:
    """A quota of whole base units (Wh, L) as stored: billing units (kWh, m³) and the rate."""
    if quota is None:
        return None, None
    rate = None if quota.overage_rate is None else str(quota.overage_rate)
    return f"{Decimal(quota.included_wh) / 1000}", rate


def create_plan(
    connection: sa.Connection, catalog: Catalog, action: Action, plan: PlanSettings
) -> None:
    _check_slot(catalog, Resource.ELECTRICITY, plan.tariff_id)
    for resource, slot in plan.others.items():
        _check_slot(catalog, resource, slot.tariff_id)
    quota_kwh, quota_overage_rate = _quota_columns(plan.quota)
    values = {
        "id": plan.id,
        "kind": plan.kind,
        "tariff_id": plan.tariff_id,
        "billing_day": plan.billing_day,
        **_editable(plan),
        "quota_kwh": quota_kwh,
        "quota_overage_rate": quota_overage_rate,
    }
    rows.insert_new(connection, "plan", values)
    others = {
        resource: dict(
            zip(("quota", "quota_overage_rate"), _quota_columns(slot.quota), strict=True),
            tariff_id=slot.tariff_id,
        )
        for resource, slot in sorted(plan.others.items())
    }
    tariffs_store.add_plan_tariffs(connection, plan.id, others)
    audit(
        connection,
        action,
        "create_plan",
        plan.id,
        values | ({"resources": {str(r): v for r, v in others.items()}} if others else {}),
    )


def edit_plan(
    connection: sa.Connection, catalog: Catalog, action: Action, plan: PlanSettings
) -> None:
    """Change a plan's name, thresholds and payment days. Its kind, tariff, billing day and
    quota stay: they decide how a running period is billed (a new tariff comes as a tariff
    version; another kind or billing day as another plan)."""
    require("plan", plan.id, catalog.plans)
    values = _editable(plan)
    rows.update(connection, "plan", plan.id, **values)
    audit(connection, action, "edit_plan", plan.id, values)


def _editable(plan: PlanSettings) -> dict[str, Any]:
    """The plan's columns that may change while it is in use: name, thresholds, payment days."""
    if plan.credit_limit_minor < 0:
        raise invalid("credit_limit must not be negative")
    return {
        "name": plan.name,
        "low_balance_threshold_minor": plan.low_balance_minor,
        "credit_limit_minor": plan.credit_limit_minor,
        "reconnect_minimum_minor": plan.reconnect_minimum_minor,
        "due_days": plan.due_days,
        "grace_days": plan.grace_days,
    }
