"""The tenants' supply as Home Assistant reports it: one append-only row per change."""

from collections.abc import Sequence
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
    return latest_of(connection, [tenant_id]).get(tenant_id)


def latest_of(connection: sa.Connection, tenant_ids: Sequence[str]) -> dict[str, SupplyRecord]:
    """Each tenant's newest report; tenants Home Assistant never reported on are left out."""
    newest = (
        sa.select(sa.func.max(supply_reports.c.id))
        .where(supply_reports.c.tenant_id.in_(tenant_ids))
        .group_by(supply_reports.c.tenant_id)
    )
    query = sa.select(supply_reports).where(supply_reports.c.id.in_(newest.scalar_subquery()))
    return {
        row.tenant_id: SupplyRecord(
            off=row.supply == "off",
            cause=None if row.cause is None else SupplyCause(row.cause),
            at_us=row.at_us,
            actor=row.actor,
            reason=row.reason,
        )
        for row in connection.execute(query)
    }


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


def guard_tenants(connection: sa.Connection, since_us: int) -> set[str]:
    """The tenants the mass-disconnection guard counts.

    Tenants cut off for arrears at or after ``since_us``, plus those whose status is
    ``disconnect_due`` now (a cut decided but not yet reported): so one evaluation pass that
    finds many tenants due at once decides only up to the limit, the rest wait for approval.
    """
    return cut_tenants(connection, since_us) | due_tenants(connection)


def due_tenants(connection: sa.Connection) -> set[str]:
    """Tenants whose status is ``disconnect_due``."""
    query = sa.select(tenant_status.c.tenant_id).where(
        tenant_status.c.status == TenantState.DISCONNECT_DUE.value
    )
    return set(connection.execute(query).scalars())


def cut_tenants(connection: sa.Connection, since_us: int) -> set[str]:
    """Tenants Home Assistant reported cut off for arrears at or after ``since_us``."""
    query = sa.select(supply_reports.c.tenant_id).where(
        (supply_reports.c.supply == "off")
        & (supply_reports.c.cause == SupplyCause.ARREARS.value)
        & (supply_reports.c.at_us >= since_us)
    )
    return set(connection.execute(query).scalars())
