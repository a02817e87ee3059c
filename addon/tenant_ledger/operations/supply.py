"""The tenant's supply: the landlord's cut-off approval, the supply Home Assistant reports."""

import sqlalchemy as sa

from tenant_ledger.billing import SupplyCause, TenantState
from tenant_ledger.db import status_store, supply_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import conflict, invalid
from tenant_ledger.operations.common import require_live


def approve_cutoff(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str
) -> None:
    """The landlord agrees that a due cut-off may happen: the ledger then decides ``cut`` (once,
    outside quiet hours) and Home Assistant switches; the approval is spent by that cut-off."""
    require_live(catalog, tenant_id)
    stored = status_store.status_of(connection, tenant_id)
    status = None if stored is None else stored.state
    if status not in (TenantState.ARREARS, TenantState.DISCONNECT_DUE):
        raise conflict(f"no cut-off is due for tenant {tenant_id} (status {status})")
    status_store.set_cutoff_approved(connection, tenant_id, True)
    audit(connection, action, "approve_cutoff", tenant_id, {"status": status})


def report_supply(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    off: bool,
    cause: SupplyCause | None,
) -> bool:
    """Record the supply Home Assistant reports for the tenant; False when nothing changed.

    Idempotent: the same state again (a retry, a restart of HA) adds no row. An arrears cut-off
    spends the tenant's cut-off approval. ``cause`` is required when off and refused when on.
    """
    require_live(catalog, tenant_id)
    if off and cause is None:
        raise invalid("a supply reported off needs its cause: arrears, landlord or safety")
    if not off and cause is not None:
        raise invalid("a supply reported on has no cause")
    latest = supply_store.latest(connection, tenant_id)
    if latest is not None and (latest.off, latest.cause) == (off, cause):
        return False
    supply_store.record(
        connection,
        tenant_id,
        at_us=action.now_us,
        off=off,
        cause=cause,
        actor=action.actor,
        reason=action.reason,
    )
    if off and cause is SupplyCause.ARREARS:
        status_store.set_cutoff_approved(connection, tenant_id, False)
    audit(
        connection,
        action,
        "supply",
        tenant_id,
        {"supply": "off" if off else "on", "cause": None if cause is None else cause.value},
    )
    return True
