"""A tenant's published state (docs/ledger-contract.md): balance, status, period figures.

The status itself is the billing engine's ``tenant_status``; this module gathers its inputs from
the database and remembers the result, because ``status_since`` and ``arrears_since`` carry
over from one evaluation to the next.
"""

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import (
    Exemption,
    Money,
    Status,
    TenantState,
    billing_period,
    format_kwh,
    format_minor,
    quota_state,
    supply_action,
    tenant_status,
)
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.config import CutoffPolicy
from tenant_ledger.db import journal_store, supply_store
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.schema import (
    ha_user_links,
    rating_periods,
    statements,
    tenant_status as status_table,
    tenants,
)
from tenant_ledger.journal import tenant_account
from tenant_ledger.standing_run import standing_to_date

# Once the balance is back where no cut-off is wanted, an earlier cut-off approval is spent.
_APPROVAL_SPENT = {TenantState.OK, TenantState.LOW, TenantState.EXEMPT}
DEFAULT_POLICY = CutoffPolicy()
_GUARD_WINDOW_US = 3_600_000_000  # the mass-disconnection guard counts cut-offs in one hour


@dataclass(frozen=True, kw_only=True)
class TenantView:
    payload: dict[str, Any]
    approval_spent: bool
    """The tenant's cut-off approval was cleared: the caller must reload the catalog."""


def _iso(micros: int) -> str:
    return from_us(micros).isoformat()


def _oldest_unpaid_due(connection: sa.Connection, tenant_id: str, billed_debt: int) -> int | None:
    """Due time of the oldest statement not covered by payments (newest statements paid last)."""
    if billed_debt <= 0:
        return None
    covered = 0
    query = (
        sa.select(statements.c.total_minor, statements.c.due_at_us)
        .where(statements.c.tenant_id == tenant_id)
        .order_by(statements.c.period_start_us.desc())
    )
    due: int | None = None
    for row in connection.execute(query):
        covered += row.total_minor
        due = row.due_at_us
        if covered >= billed_debt:
            break
    return due


def evaluate(
    connection: sa.Connection,
    catalog: Catalog,
    tenant_id: str,
    now_us: int,
    policy: CutoffPolicy = DEFAULT_POLICY,
) -> TenantView:
    """The tenant's state at ``now_us``, its status persisted, with the supply decision.

    The ledger owns the cut-off policy (``policy``: quiet hours, approval, the guard's limit);
    Home Assistant reports the supply (db/supply_store) and carries out ``supply_action``.
    """
    record = catalog.tenants[tenant_id]
    plan = catalog.plan_of(tenant_id)
    currency, zone, now = catalog.currency, catalog.zone, from_us(now_us)
    account = tenant_account(tenant_id)
    balance = journal_store.balances(connection, [account])[account]
    start, _end = billing_period(plan.billing_day, now, zone)
    period = connection.execute(
        sa.select(rating_periods).where(
            (rating_periods.c.tenant_id == tenant_id)
            & (rating_periods.c.period_start_us == to_us(start))
        )
    ).first()
    energy_wh, cost_minor = (0, 0) if period is None else (period.energy_wh, period.posted_minor)
    stored = connection.execute(
        sa.select(status_table).where(status_table.c.tenant_id == tenant_id)
    ).first()
    previous = None
    if stored is not None:
        previous = Status(
            state=TenantState(stored.status),
            reason=stored.reason,
            since=from_us(stored.since_us),
            arrears_since=None
            if stored.arrears_since_us is None
            else from_us(stored.arrears_since_us),
        )
    exemption = None
    if record.exempt:
        until = None if record.exempt_until_us is None else from_us(record.exempt_until_us)
        exemption = Exemption(reason=record.exempt_reason, until=until)
    quota = None if plan.quota is None else quota_state(plan.quota, energy_wh)
    unpaid_due = None
    if plan.kind == "postpaid":
        unpaid_due = _oldest_unpaid_due(connection, tenant_id, -(balance + cost_minor))
    supply = supply_store.latest(connection, tenant_id)
    cutoffs = supply_store.guard_count(connection, now_us - _GUARD_WINDOW_US, tenant_id)
    guard_tripped = cutoffs >= policy.guard_limit
    status = tenant_status(
        plan=plan.billing_plan(currency),
        balance=Money(currency=currency, minor=balance),
        now=now,
        zone=zone,
        # As Home Assistant last reported it; never reported: unknown, so never cut.
        supply_disconnected=None if supply is None else supply.off,
        previous=previous,
        exemption=exemption,
        quota=quota,
        quiet_hours=policy.quiet_hours,
        oldest_unpaid_due=None if unpaid_due is None else from_us(unpaid_due),
        supply_cause=None if supply is None else supply.cause,
        approval_required=policy.needs_approval or guard_tripped,
        approved=record.cutoff_approved,
    )
    action = supply_action(
        status, None if supply is None else supply.off, None if supply is None else supply.cause
    )
    _remember(connection, tenant_id, status, previous)
    approval_spent = record.cutoff_approved and status.state in _APPROVAL_SPENT
    if approval_spent:
        connection.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(cutoff_approved=False)
        )
    payload = {
        "tenant_id": tenant_id,
        "name": record.name,
        "currency": currency,
        "balance": format_minor(balance, currency),
        "status": status.state.value,
        "status_reason": status.reason,
        "status_since": status.since.isoformat(),
        "plan": plan.kind,
        "period_start": start.isoformat(),
        "period_energy_kwh": format_kwh(energy_wh),
        # Every charge of the period so far: energy and the standing charge to date.
        "period_cost": format_minor(
            cost_minor + standing_to_date(catalog, tenant_id, start, now), currency
        ),
        "quota_kwh": None if quota is None else format_kwh(quota.included_wh),
        "quota_remaining_kwh": None if quota is None else format_kwh(quota.remaining_wh),
        "points": catalog.points_of(tenant_id, now_us),
        "cutoff_approved": record.cutoff_approved and not approval_spent,
        "cutoff_awaiting_approval": status.awaiting_approval,
        "supply": None if supply is None else _supply_payload(supply),
        "supply_action": action.value,
        "cutoff_guard_count": cutoffs,
        "cutoff_guard_limit": policy.guard_limit,
        "ha_user_ids": _linked_users(connection, tenant_id),
        "updated_at": _iso(now_us),
    }
    return TenantView(payload=payload, approval_spent=approval_spent)


def _supply_payload(supply: supply_store.SupplyRecord) -> dict[str, Any]:
    return {
        "state": "off" if supply.off else "on",
        "cause": None if supply.cause is None else supply.cause.value,
        "since": _iso(supply.at_us),
        "actor": supply.actor,
        "reason": supply.reason,
    }


def _linked_users(connection: sa.Connection, tenant_id: str) -> list[str]:
    """The Home Assistant users linked to the tenant (its private dashboard view), sorted."""
    query = (
        sa.select(ha_user_links.c.user_id)
        .where(ha_user_links.c.tenant_id == tenant_id)
        .order_by(ha_user_links.c.user_id)
    )
    return list(connection.execute(query).scalars())


def _remember(
    connection: sa.Connection, tenant_id: str, status: Status, previous: Status | None
) -> None:
    # What is stored: whether a cut-off awaits approval is derived again at every evaluation.
    if replace(status, awaiting_approval=False) == previous:
        return
    values = {
        "status": status.state.value,
        "reason": status.reason,
        "since_us": to_us(status.since),
        "arrears_since_us": None if status.arrears_since is None else to_us(status.arrears_since),
    }
    if previous is None:
        connection.execute(status_table.insert().values(tenant_id=tenant_id, **values))
    else:
        connection.execute(
            status_table.update().where(status_table.c.tenant_id == tenant_id).values(**values)
        )
