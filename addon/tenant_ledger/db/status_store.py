"""What a tenant's status is judged from, and the status remembered between judgements.

``tenant_state`` reads a tenant's ``Facts`` here, judges them without touching the database,
and hands back what to write: the status when it changed, a spent cut-off approval.
"""

from collections.abc import Mapping, Sequence, Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import Status, TenantState
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.db import journal_store, supply_store
from tenant_ledger.db.schema import (
    ha_user_links,
    rating_periods,
    statements,
    tenant_status,
    tenants,
)
from tenant_ledger.journal import tenant_account


@dataclass(frozen=True, kw_only=True, slots=True)
class BilledStatement:
    total_minor: int
    due_at_us: int


@dataclass(frozen=True, kw_only=True, slots=True)
class ResourcePeriod:
    """A resource's running position in the period: usage in base units (Wh, L), charges."""

    usage: int
    posted_minor: int


@dataclass(frozen=True, kw_only=True)
class Facts:
    """One tenant's stored figures at one instant."""

    balance_minor: int
    period_energy_wh: int
    period_posted_minor: int
    resources: Mapping[Resource, ResourcePeriod]
    """Every resource rated in the period so far (electricity too, as in the two above)."""
    previous: Status | None
    statements_newest_first: list[BilledStatement]
    """Only for postpaid plans (empty otherwise): the oldest unpaid due date comes from them."""
    supply: supply_store.SupplyRecord | None
    guard_count: int
    linked_users: list[str]


@dataclass(frozen=True, slots=True)
class Wanted:
    """Whose facts to read: the tenant, the start of its current period, its kind of plan."""

    tenant_id: str
    period_start_us: int
    postpaid: bool


def facts_of(
    connection: sa.Connection, wanted: Sequence[Wanted], guarded: AbstractSet[str]
) -> dict[str, Facts]:
    """The facts of several tenants, read together: one query per kind of fact.

    ``guarded``: the tenants the mass-disconnection guard counts (``supply_store``); each
    tenant's own count leaves it out.
    """
    ids = [item.tenant_id for item in wanted]
    accounts = {tenant_id: tenant_account(tenant_id) for tenant_id in ids}
    balances = journal_store.balances(connection, accounts.values())
    positions = _period_positions(
        connection, {item.tenant_id: item.period_start_us for item in wanted}
    )
    postpaid = [item.tenant_id for item in wanted if item.postpaid]
    billed = _statements(connection, postpaid) if postpaid else {}
    statuses = _statuses(connection, ids)
    supplies = supply_store.latest_of(connection, ids)
    users = _linked_users(connection, ids)
    result = {}
    for tenant_id in ids:
        resources = positions.get(tenant_id, {})
        electricity = resources.get(Resource.ELECTRICITY, ResourcePeriod(usage=0, posted_minor=0))
        result[tenant_id] = Facts(
            balance_minor=balances[accounts[tenant_id]],
            period_energy_wh=electricity.usage,
            period_posted_minor=electricity.posted_minor,
            resources=resources,
            previous=statuses.get(tenant_id),
            statements_newest_first=billed.get(tenant_id, []),
            supply=supplies.get(tenant_id),
            guard_count=len(guarded - {tenant_id}),
            linked_users=users.get(tenant_id, []),
        )
    return result


def _period_positions(
    connection: sa.Connection, period_starts: Mapping[str, int]
) -> dict[str, dict[Resource, ResourcePeriod]]:
    """Per tenant, each resource's position in the tenant's period starting as given."""
    query = sa.select(
        rating_periods.c.tenant_id,
        rating_periods.c.period_start_us,
        rating_periods.c.resource,
        rating_periods.c.energy_wh,
        rating_periods.c.posted_minor,
    ).where(
        rating_periods.c.tenant_id.in_(list(period_starts))
        & rating_periods.c.period_start_us.in_(set(period_starts.values()))
    )
    positions: dict[str, dict[Resource, ResourcePeriod]] = {}
    for row in connection.execute(query):
        if period_starts[row.tenant_id] == row.period_start_us:
            # ``energy_wh`` holds the resource's base units (Wh or L) since revision 0013.
            positions.setdefault(row.tenant_id, {})[Resource(row.resource)] = ResourcePeriod(
                usage=row.energy_wh, posted_minor=row.posted_minor
            )
    return positions


def _statuses(connection: sa.Connection, tenant_ids: Sequence[str]) -> dict[str, Status]:
    query = sa.select(tenant_status).where(tenant_status.c.tenant_id.in_(tenant_ids))
    return {row.tenant_id: _status(row) for row in connection.execute(query)}


def _status(stored: sa.Row[Any]) -> Status:
    return Status(
        state=TenantState(stored.status),
        reason=stored.reason,
        since=from_us(stored.since_us),
        arrears_since=None if stored.arrears_since_us is None else from_us(stored.arrears_since_us),
    )


def status_of(connection: sa.Connection, tenant_id: str) -> Status | None:
    """The status last remembered for the tenant; None before its first evaluation."""
    return _statuses(connection, [tenant_id]).get(tenant_id)


def _statements(
    connection: sa.Connection, tenant_ids: Sequence[str]
) -> dict[str, list[BilledStatement]]:
    query = (
        sa.select(statements.c.tenant_id, statements.c.total_minor, statements.c.due_at_us)
        .where(statements.c.tenant_id.in_(tenant_ids))
        .order_by(statements.c.tenant_id, statements.c.period_start_us.desc())
    )
    found: dict[str, list[BilledStatement]] = {}
    for row in connection.execute(query):
        found.setdefault(row.tenant_id, []).append(
            BilledStatement(total_minor=row.total_minor, due_at_us=row.due_at_us)
        )
    return found


def linked_users(connection: sa.Connection, tenant_id: str) -> list[str]:
    """The Home Assistant users linked to the tenant (its private dashboard view), sorted."""
    return _linked_users(connection, [tenant_id]).get(tenant_id, [])


def _linked_users(connection: sa.Connection, tenant_ids: Sequence[str]) -> dict[str, list[str]]:
    query = (
        sa.select(ha_user_links.c.tenant_id, ha_user_links.c.user_id)
        .where(ha_user_links.c.tenant_id.in_(tenant_ids))
        .order_by(ha_user_links.c.tenant_id, ha_user_links.c.user_id)
    )
    found: dict[str, list[str]] = {}
    for row in connection.execute(query):
        found.setdefault(row.tenant_id, []).append(row.user_id)
    return found


def remember(connection: sa.Connection, statuses: Sequence[tuple[str, Status, bool]]) -> None:
    """Store tenants' statuses: ``(tenant_id, status, known)``, ``known`` where a status was
    stored before (so it is updated)."""
    rows = [
        (
            known,
            {
                "tenant": tenant_id,
                "status": status.state.value,
                "reason": status.reason,
                "since_us": to_us(status.since),
                "arrears_since_us": None
                if status.arrears_since is None
                else to_us(status.arrears_since),
            },
        )
        for tenant_id, status, known in statuses
    ]
    updated = [values for known, values in rows if known]
    created = [values for known, values in rows if not known]
    if updated:
        connection.execute(
            # The parameters named as columns are what the update sets.
            tenant_status.update().where(tenant_status.c.tenant_id == sa.bindparam("tenant")),
            updated,
        )
    if created:
        connection.execute(tenant_status.insert().values(tenant_id=sa.bindparam("tenant")), created)


def set_cutoff_approved(connection: sa.Connection, tenant_id: str, approved: bool) -> None:
    connection.execute(
        tenants.update().where(tenants.c.id == tenant_id).values(cutoff_approved=approved)
    )
