"""A tenant's life: created on a plan, moved to another, exempted, archived."""

import sqlalchemy as sa

from tenant_ledger.db import access_store, journal_store, portal_store, rows
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import SITE_ID, Catalog
from tenant_ledger.errors import conflict
from tenant_ledger.journal import tenant_account
from tenant_ledger.operations.common import require, require_live


def create_tenant(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    name: str,
    plan_id: str,
) -> None:
    require("plan", plan_id, catalog.plans)
    rows.insert_new(
        connection,
        "tenant",
        {
            "id": tenant_id,
            "site_id": SITE_ID,
            "name": name,
            "plan_id": plan_id,
            "exempt": False,
            "cutoff_approved": False,
            "created_at_us": action.now_us,
        },
    )
    audit(connection, action, "create_tenant", tenant_id, {"name": name, "plan_id": plan_id})


def rename_tenant(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str, name: str
) -> None:
    require_live(catalog, tenant_id)
    rows.update(connection, "tenant", tenant_id, name=name)
    audit(connection, action, "rename_tenant", tenant_id, {"name": name})


def change_plan(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str, plan_id: str
) -> None:
    require_live(catalog, tenant_id)
    require("plan", plan_id, catalog.plans)
    rows.update(connection, "tenant", tenant_id, plan_id=plan_id)
    audit(connection, action, "change_plan", tenant_id, {"plan_id": plan_id})


def set_exemption(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    exempt: bool,
    until_us: int | None,
) -> None:
    require_live(catalog, tenant_id)
    rows.update(
        connection,
        "tenant",
        tenant_id,
        exempt=exempt,
        exempt_until_us=until_us if exempt else None,
        exempt_reason=action.reason if exempt else None,
    )
    audit(connection, action, "exemption", tenant_id, {"exempt": exempt, "until_us": until_us})


def archive_tenant(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str
) -> None:
    """Retire a tenant who has moved out: no longer listed or published, nothing deleted.

    The journal, statements, readings and audit entries stay; a statement still due for the
    tenant's last period is issued as usual.
    """
    require_live(catalog, tenant_id)
    held = sorted(
        item.point_id
        for item in catalog.assignments
        if item.tenant_id == tenant_id and item.end_us > action.now_us
    )
    if held:
        raise conflict(
            f"tenant {tenant_id} still holds {', '.join(held)}; move the tenant out first"
        )
    account = tenant_account(tenant_id)
    balance = journal_store.balances(connection, [account])[account]
    rows.update(connection, "tenant", tenant_id, archived_at_us=action.now_us)
    # The portal of an archived tenant is gone; the HA links and portal sign-in links go with it
    # (recorded here), and so do the portal's sessions.
    linked = [user_id for user_id, _label in access_store.users_of_tenant(connection, tenant_id)]
    access_store.unlink_tenant(connection, tenant_id)
    revoked = portal_store.revoke_links_of_tenant(connection, tenant_id, action.now_us)
    audit(
        connection,
        action,
        "archive_tenant",
        tenant_id,
        {"balance_minor": balance, "unlinked_users": linked, "revoked_portal_links": revoked},
    )
