"""Which HA user is which tenant: the web UI's own table, written with an audit-log record.

The ledger schema has no HA-user mapping yet, so the table lives here and is created on the
ledger's engine at start-up (``metadata.create_all``); links and unlinks go through the
ledger's single writer and ``operations.audit`` like every other operator action.
"""

import sqlalchemy as sa

from tenant_ledger import operations as ops
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import not_found

metadata = sa.MetaData()

ha_user_tenants = sa.Table(
    "web_ha_user_tenants",
    metadata,
    sa.Column("user_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(64), nullable=False, index=True),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("linked_at_us", sa.BigInteger, nullable=False),
)


def tenant_of(connection: sa.Connection, user_id: str) -> str | None:
    return connection.execute(
        sa.select(ha_user_tenants.c.tenant_id).where(ha_user_tenants.c.user_id == user_id)
    ).scalar()


def users_of(connection: sa.Connection, tenant_id: str) -> list[tuple[str, str]]:
    """(user id, label) of the HA users linked to the tenant."""
    query = (
        sa.select(ha_user_tenants.c.user_id, ha_user_tenants.c.label)
        .where(ha_user_tenants.c.tenant_id == tenant_id)
        .order_by(ha_user_tenants.c.label)
    )
    return [(row.user_id, row.label) for row in connection.execute(query)]


def link(
    connection: sa.Connection,
    catalog: Catalog,
    action: ops.Action,
    *,
    user_id: str,
    label: str,
    tenant_id: str,
) -> None:
    """Let HA user ``user_id`` see ``tenant_id``'s account (replacing an earlier link)."""
    if tenant_id not in catalog.tenants:
        raise not_found("tenant", tenant_id)
    connection.execute(ha_user_tenants.delete().where(ha_user_tenants.c.user_id == user_id))
    connection.execute(
        ha_user_tenants.insert().values(
            user_id=user_id, tenant_id=tenant_id, label=label, linked_at_us=action.now_us
        )
    )
    ops.audit(connection, action, "link_ha_user", tenant_id, {"user_id": user_id, "label": label})


def unlink(connection: sa.Connection, action: ops.Action, *, user_id: str, tenant_id: str) -> None:
    result = connection.execute(
        ha_user_tenants.delete().where(
            (ha_user_tenants.c.user_id == user_id) & (ha_user_tenants.c.tenant_id == tenant_id)
        )
    )
    if not result.rowcount:
        raise not_found("HA user link", user_id)
    ops.audit(connection, action, "unlink_ha_user", tenant_id, {"user_id": user_id})
