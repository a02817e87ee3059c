"""Rows of the registry (tenants, spaces, points, tariffs, plans) under a caller-chosen id."""

from typing import Any, Literal

import sqlalchemy as sa

from tenant_ledger.db.schema import metering_points, plans, spaces, tariffs, tenants
from tenant_ledger.errors import conflict

type Kind = Literal["tenant", "space", "metering point", "tariff", "plan"]
_TABLES: dict[Kind, sa.Table] = {
    "tenant": tenants,
    "space": spaces,
    "metering point": metering_points,
    "tariff": tariffs,
    "plan": plans,
}


def insert_new(connection: sa.Connection, kind: Kind, values: dict[str, Any]) -> None:
    """Insert the ``kind`` row whose id is ``values["id"]``; 409 when that id is taken."""
    if exists(connection, kind, values["id"]):
        raise conflict(f"{kind} {values['id']} already exists")
    connection.execute(_TABLES[kind].insert().values(**values))


def exists(connection: sa.Connection, kind: Kind, row_id: str) -> bool:
    table = _TABLES[kind]
    return connection.execute(sa.select(table.c.id).where(table.c.id == row_id)).first() is not None


def update(connection: sa.Connection, kind: Kind, row_id: str, /, **values: Any) -> None:
    table = _TABLES[kind]
    connection.execute(table.update().where(table.c.id == row_id).values(**values))
