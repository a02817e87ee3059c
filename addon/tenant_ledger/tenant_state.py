"""A tenant's published state (docs/ledger-contract.md): balance, status, period figures.

The status itself is the billing engine's ``tenant_status``. ``evaluate`` reads the tenant's
facts (db/status_store) and judges them without writing; what the judgement changes (the status,
which carries ``status_since`` and ``arrears_since`` over to the next evaluation, and a spent
cut-off approval) is written by ``record``, explicitly, by the caller.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import (
    Exemption,
    Money,
    PlanKind,
    QuotaState,
    Status,
    TenantState,
    billing_period,
    format_kwh,
    format_minor,
    quota_state,
    supply_action,
    tenant_status,
)
from tenant_ledger.billing.resources import Resource, billing_unit
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.config import CutoffPolicy
from tenant_ledger.db import status_store, supply_store
from tenant_ledger.db.catalog import Catalog, PlanSettings
from tenant_ledger.db.status_store import BilledStatement, Facts, ResourcePeriod
from tenant_ledger.standing_run import standing_to_date

# Once the balance is back where no cut-off is wanted, an earlier cut-off approval is spent.
_APPROVAL_SPENT = {TenantState.OK, TenantState.LOW, TenantState.EXEMPT}
DEFAULT_POLICY = CutoffPolicy()
_GUARD_WINDOW_US = 3_600_000_000  # the mass-disconnection guard counts cut-offs in one hour


@dataclass(frozen=True, kw_only=True)
class TenantView:
    tenant_id: str
    payload: dict[str, Any]
    status: Status
    status_changed: bool
    """The status differs from the one stored (or none was): ``record`` stores it."""
    first_status: bool
    approval_spent: bool
    """The tenant's cut-off approval is spent: ``record`` clears it; reload the catalog."""


def _iso(micros: int) -> str:
    return from_us(micros).isoformat()


def _oldest_unpaid_due(statements: list[BilledStatement], billed_debt: int) -> int | None:
    """Due time of the oldest statement not covered by payments (newest statements paid last)."""
    if billed_debt <= 0:
        return None
    covered = 0
    due: int | None = None
    for statement in statements:
        covered += statement.total_minor
        due = statement.due_at_us
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
    """The tenant's state at ``now_us`` with the supply decision; reads only (see ``record``).

    The ledger owns the cut-off policy (``policy``: quiet hours, approval, the guard's limit);
    Home Assistant reports the supply (db/supply_store) and carries out ``supply_action``.
    """
    guarded = supply_store.guard_tenants(connection, now_us - _GUARD_WINDOW_US)
    wanted = _wanted(catalog, tenant_id, now_us)
    facts = status_store.facts_of(connection, [wanted], guarded)[tenant_id]
    return judge(facts, catalog, tenant_id, now_us, policy)


def _wanted(catalog: Catalog, tenant_id: str, now_us: int) -> status_store.Wanted:
    """What to read of the tenant: its current period's figures, its statements if postpaid."""
    plan = catalog.plan_of(tenant_id)
    start, _end = billing_period(plan.billing_day, from_us(now_us), catalog.zone)
    return status_store.Wanted(tenant_id, to_us(start), plan.kind is PlanKind.POSTPAID)


def evaluate_and_record(
    connection: sa.Connection,
    catalog: Catalog,
    tenant_ids: Iterable[str],
    now_us: int,
    policy: CutoffPolicy = DEFAULT_POLICY,
) -> list[TenantView]:
    """``evaluate`` then ``record`` for each tenant in turn, their facts read together.

    Each judgement sees the cut-offs decided before it in the pass, as one evaluation after
    another would: a tenant just found ``disconnect_due`` counts in the next one's guard. A
    tenant named twice is evaluated once: its facts are read before the pass records anything,
    so a second judgement would see its old status (and insert a first status twice).
    """
    wanted = [_wanted(catalog, tenant_id, now_us) for tenant_id in dict.fromkeys(tenant_ids)]
    guard_since_us = now_us - _GUARD_WINDOW_US
    cut = supply_store.cut_tenants(connection, guard_since_us)
    due = supply_store.due_tenants(connection)
    found = status_store.facts_of(connection, wanted, cut | due)
    views = []
    for item in wanted:
        tenant_id = item.tenant_id
        counted = len((cut | due) - {tenant_id})
        view = judge(
            replace(found[tenant_id], guard_count=counted), catalog, tenant_id, now_us, policy
        )
        if view.status.state is TenantState.DISCONNECT_DUE:
            due.add(tenant_id)
        else:
            due.discard(tenant_id)
        views.append(view)
    record(connection, views)
    return views


def building_guard(connection: sa.Connection, now_us: int, policy: CutoffPolicy) -> dict[str, int]:
    """The mass-disconnection guard for the whole building: tenants cut off for arrears in the
    last hour or due to be, against the limit beyond which cut-offs wait for approval.

    Each tenant's own ``cutoff_guard_count`` leaves that tenant out (its own cut must not hold
    itself back); this is the one number Home Assistant shows.
    """
    count = len(supply_store.guard_tenants(connection, now_us - _GUARD_WINDOW_US))
    return {"count": count, "limit": policy.guard_limit, "window_s": _GUARD_WINDOW_US // 1_000_000}


def record(connection: sa.Connection, views: Iterable[TenantView]) -> None:
    """Write what the judgements changed: statuses (all in one go), spent cut-off approvals."""
    changed = [view for view in views if view.status_changed]
    status_store.remember(
        connection, [(view.tenant_id, view.status, not view.first_status) for view in changed]
    )
    for view in views:
        if view.approval_spent:
            status_store.set_cutoff_approved(connection, view.tenant_id, False)


def judge(
    facts: Facts, catalog: Catalog, tenant_id: str, now_us: int, policy: CutoffPolicy
) -> TenantView:
    """The tenant's state from its stored ``facts``: a pure function of its arguments."""
    record = catalog.tenants[tenant_id]
    plan = catalog.plan_of(tenant_id)
    currency, zone, now = catalog.currency, catalog.zone, from_us(now_us)
    balance, previous, supply = facts.balance_minor, facts.previous, facts.supply
    start, _end = billing_period(plan.billing_day, now, zone)
    energy_wh, cost_minor = facts.period_energy_wh, facts.period_posted_minor
    exemption = None
    if record.exempt:
        until = None if record.exempt_until_us is None else from_us(record.exempt_until_us)
        exemption = Exemption(reason=record.exempt_reason, until=until)
    quotas = _quota_states(facts, plan)
    quota = quotas.get(Resource.ELECTRICITY)
    unpaid_due = _oldest_unpaid_due(facts.statements_newest_first, -(balance + cost_minor))
    guard_tripped = facts.guard_count >= policy.guard_limit
    status = tenant_status(
        plan=plan.billing_plan(currency),
        balance=Money(currency=currency, minor=balance),
        now=now,
        zone=zone,
        # As Home Assistant last reported it; never reported: unknown, so never cut.
        supply_disconnected=None if supply is None else supply.off,
        previous=previous,
        exemption=exemption,
        quotas=quotas,
        quiet_hours=policy.quiet_hours,
        oldest_unpaid_due=None if unpaid_due is None else from_us(unpaid_due),
        supply_cause=None if supply is None else supply.cause,
        approval_required=policy.needs_approval or guard_tripped,
        approved=record.cutoff_approved,
    )
    action = supply_action(
        status, None if supply is None else supply.off, None if supply is None else supply.cause
    )
    approval_spent = record.cutoff_approved and status.state in _APPROVAL_SPENT
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
        "resources": _resources_payload(facts, catalog, tenant_id, now_us, quotas),
        "cutoff_approved": record.cutoff_approved and not approval_spent,
        "cutoff_awaiting_approval": status.awaiting_approval,
        "supply": None if supply is None else _supply_payload(supply),
        "supply_action": action.value,
        "cutoff_guard_count": facts.guard_count,
        "cutoff_guard_limit": policy.guard_limit,
        "ha_user_ids": facts.linked_users,
        "updated_at": _iso(now_us),
    }
    return TenantView(
        tenant_id=tenant_id,
        payload=payload,
        status=status,
        # What is stored: whether a cut-off awaits approval is derived again at every evaluation.
        status_changed=replace(status, awaiting_approval=False) != previous,
        first_status=previous is None,
        approval_spent=approval_spent,
    )


def _quota_states(facts: Facts, plan: PlanSettings) -> dict[Resource, QuotaState]:
    """The period's allowance position of each resource the plan gives a quota."""
    states: dict[Resource, QuotaState] = {}
    for resource in Resource:
        slot = plan.tariff_for(resource)
        if slot is not None and slot.quota is not None:
            used = facts.resources.get(resource, ResourcePeriod(usage=0, posted_minor=0)).usage
            states[resource] = quota_state(slot.quota, used)
    return states


def _resources_payload(
    facts: Facts,
    catalog: Catalog,
    tenant_id: str,
    now_us: int,
    quotas: dict[Resource, QuotaState],
) -> dict[str, dict[str, Any]]:
    """Each resource the tenant's plan bills, holds a point of or used in the period (before a
    move-out or a change of plan), in its billing unit.

    ``period_cost`` is the resource's usage charges alone; the tenant's ``period_cost`` adds
    the plan's standing charge to date.
    """
    plan = catalog.plan_of(tenant_id)
    held = {catalog.resource_of(point) for point in catalog.points_of(tenant_id, now_us)}
    billed = {resource for resource in Resource if plan.tariff_for(resource) is not None}
    return {
        resource.value: _resource_payload(
            resource, facts, resource in billed, quotas.get(resource), catalog.currency
        )
        for resource in Resource  # the enum's order: electricity first, a stable payload
        if resource in held | billed | facts.resources.keys()
    }


def _resource_payload(
    resource: Resource, facts: Facts, billed: bool, quota: QuotaState | None, currency: str
) -> dict[str, Any]:
    position = facts.resources.get(resource, ResourcePeriod(usage=0, posted_minor=0))
    return {
        "unit": billing_unit(resource),
        "billed": billed,
        # Whole base units (Wh, L) in the billing unit (kWh, m³): 1000 each, exact.
        "period_usage": format_kwh(position.usage),
        "period_cost": format_minor(position.posted_minor, currency),
        "quota": None if quota is None else format_kwh(quota.included_wh),
        "quota_remaining": None if quota is None else format_kwh(quota.remaining_wh),
        # Used up (priced at the overage rate from now, or a hard cap reached); the status
        # says what follows: quota_exhausted for electricity, a note in the reason for others.
        "quota_exhausted": None if quota is None else quota.exhausted,
    }


def _supply_payload(supply: supply_store.SupplyRecord) -> dict[str, Any]:
    return {
        "state": "off" if supply.off else "on",
        "cause": None if supply.cause is None else supply.cause.value,
        "since": _iso(supply.at_us),
        "actor": supply.actor,
        "reason": supply.reason,
    }
