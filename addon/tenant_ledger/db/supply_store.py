"""The tenants' supply as Home Assistant reports it: one append-only row per change."""

from dataclasses import dataclass

import sqlalchemy as sa

from tenant_ledger.billing.status import SupplyCause, TenantState
from tenant_ledger.db.schema import supply_reports, tenant_status


@dataclass(frozen=True, kw_only=True)
class SupplyRecord:
    """The supply of a tenant since ``at_us``: on, or off with who cut it and why."""

    off: bool
    cause: SupplyCause | None
    at_us: int
    actor: str
    reason: str


def latest(connection: sa.Connection, tenant_id: str) -> SupplyRecord | None:
    """The tenant's newest report; None when Home Assistant never reported (supply unknown)."""
    row = connection.execute(
        sa.select(supply_reports)
        .where(supply_reports.c.tenant_id == tenant_id)
        .order_by(supply_reports.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return SupplyRecord(
        off=row.supply == "off",
        cause=None if row.cause is None else SupplyCause(row.cause),
        at_us=row.at_us,
        actor=row.actor,
        reason=row.reason,
    )


def record(
    connection: sa.Connection,
    tenant_id: str,
    *,
    at_us: int,
    off: bool,
    cause: SupplyCause | None,
    actor: str,
    reason: str,
) -> None:
    connection.execute(
        supply_reports.insert().values(
            tenant_id=tenant_id,
            at_us=at_us,
            supply="off" if off else "on",
            cause=None if cause is None else cause.value,
            actor=actor,
            reason=reason,
        )
    )


def guard_count(connection: sa.Connection, since_us: int, excluding: str | None) -> int:
    """The mass-disconnection guard's count, as seen by tenant ``excluding`` (None: all).

    Tenants cut off for arrears at or after ``since_us``, plus those whose status is
    ``disconnect_due`` now (a cut decided but not yet reported): so one evaluation pass that
    finds many tenants due at once decides only up to the limit, the rest wait for approval.
    """
    cut = sa.select(supply_reports.c.tenant_id).where(
        (supply_reports.c.supply == "off")
        & (supply_reports.c.cause == SupplyCause.ARREARS.value)
        & (supply_reports.c.at_us >= since_us)
    )
    due = sa.select(tenant_status.c.tenant_id).where(
        tenant_status.c.status == TenantState.DISCONNECT_DUE.value
    )
    tenants = sa.union(cut, due).subquery()
    query = sa.select(sa.func.count()).select_from(tenants)
    if excluding is not None:
        query = query.where(tenants.c.tenant_id != excluding)
    return int(connection.execute(query).scalar_one())
