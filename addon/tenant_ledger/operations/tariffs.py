"""Tariffs (versioned, each version in force from an instant) and the plans that use them."""

from decimal import Decimal
import json
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import TariffError, decode_json, parse_tariff
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
) -> None:
    """A tariff's new version in force from ``effective_from_us`` (creating the tariff if new)."""
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
            {"id": tariff_id, "name": name or tariff_id, "currency": tariff.currency},
        )
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
        {"effective_from_us": effective_from_us, "tariff": body},
    )


def create_plan(
    connection: sa.Connection, catalog: Catalog, action: Action, plan: PlanSettings
) -> None:
    require("tariff", plan.tariff_id, catalog.schedules)
    values = {
        "id": plan.id,
        "kind": plan.kind,
        "tariff_id": plan.tariff_id,
        "billing_day": plan.billing_day,
        **_editable(plan),
        "quota_kwh": None if plan.quota is None else f"{Decimal(plan.quota.included_wh) / 1000}",
        "quota_overage_rate": None
        if plan.quota is None or plan.quota.overage_rate is None
        else str(plan.quota.overage_rate),
    }
    rows.insert_new(connection, "plan", values)
    audit(connection, action, "create_plan", plan.id, values)


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
