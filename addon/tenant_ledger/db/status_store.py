"""What a tenant's status is judged from, and the status remembered between judgements.

``tenant_state`` reads a tenant's ``Facts`` here, judges them without touching the database,
and hands back what to write: the status when it changed, a spent cut-off approval.
"""

from collections.abc import Mapping
from dataclasses import dataclass

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


def facts(
    connection: sa.Connection,
    tenant_id: str,
    *,
    period_start_us: int,
    guard_since_us: int,
    postpaid: bool,
) -> Facts:
    account = tenant_account(tenant_id)
    resources = _period_positions(connection, tenant_id, period_start_us)
    electricity = resources.get(Resource.ELECTRICITY, ResourcePeriod(usage=0, posted_minor=0))
    return Facts(
        balance_minor=journal_store.balances(connection, [account])[account],
        period_energy_wh=electricity.usage,
        period_posted_minor=electricity.posted_minor,
        resources=resources,
        previous=status_of(connection, tenant_id),
        statements_newest_first=_statements(connection, tenant_id) if postpaid else [],
        supply=supply_store.latest(connection, tenant_id),
        guard_count=supply_store.guard_count(connection, guard_since_us, tenant_id),
        linked_users=linked_users(connection, tenant_id),
    )


def _period_positions(
    connection: sa.Connection, tenant_id: str, period_start_us: int
) -> dict[Resource, ResourcePeriod]:
    query = sa.select(
        rating_periods.c.resource, rating_periods.c.energy_wh, rating_periods.c.posted_minor
    ).where(
        (rating_periods.c.tenant_id == tenant_id)
        & (rating_periods.c.period_start_us == period_start_us)
    )
    # ``energy_wh`` holds the resource's base units (Wh or L) since revision 0013.
    return {
        Resource(row.resource): ResourcePeriod(usage=row.energy_wh, posted_minor=row.posted_minor)
        for row in connection.execute(query)
    }


def status_of(connection: sa.Connection, tenant_id: str) -> Status | None:
    """The status last remembered for the tenant; None before its first evaluation."""
    stored = connection.execute(
        sa.select(tenant_status).where(tenant_status.c.tenant_id == tenant_id)
    ).first()
    if stored is None:
        return None
    return Status(
        state=TenantState(stored.status),
        reason=stored.reason,
        since=from_us(stored.since_us),
        arrears_since=None if stored.arrears_since_us is None else from_us(stored.arrears_since_us),
    )


def _statements(connection: sa.Connection, tenant_id: str) -> list[BilledStatement]:
    query = (
        sa.select(statements.c.total_minor, statements.c.due_at_us)
        .where(statements.c.tenant_id == tenant_id)
        .order_by(statements.c.period_start_us.desc())
    )
    return [
        BilledStatement(total_minor=row.total_minor, due_at_us=row.due_at_us)
        for row in connection.execute(query)
    ]


def linked_users(connection: sa.Connection, tenant_id: str) -> list[str]:
    """The Home Assistant users linked to the tenant (its private dashboard view), sorted."""
    query = (
        sa.select(ha_user_links.c.user_id)
        .where(ha_user_links.c.tenant_id == tenant_id)
        .order_by(ha_user_links.c.user_id)
    )
    return list(connection.execute(query).scalars())


def remember(connection: sa.Connection, tenant_id: str, status: Status, *, known: bool) -> None:
    """Store the tenant's status (``known``: a status was stored before, so update it)."""
    values = {
        "status": status.state.value,
        "reason": status.reason,
        "since_us": to_us(status.since),
        "arrears_since_us": None if status.arrears_since is None else to_us(status.arrears_since),
    }
    if known:
        connection.execute(
            tenant_status.update().where(tenant_status.c.tenant_id == tenant_id).values(**values)
        )
    else:
        connection.execute(tenant_status.insert().values(tenant_id=tenant_id, **values))


def set_cutoff_approved(connection: sa.Connection, tenant_id: str, approved: bool) -> None:
    connection.execute(
        tenants.update().where(tenants.c.id == tenant_id).values(cutoff_approved=approved)
    )
