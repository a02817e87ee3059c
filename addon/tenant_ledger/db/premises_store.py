"""Spaces, metering points and who holds which point when (assignments)."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tenant_ledger.db import rows
from tenant_ledger.db.schema import assignments, metering_points, rating_cursors


def space_exists(connection: sa.Connection, space_id: str) -> bool:
    return rows.exists(connection, "space", space_id)


def points_of_space(connection: sa.Connection, space_id: str) -> list[str]:
    query = sa.select(metering_points.c.id).where(metering_points.c.space_id == space_id)
    return list(connection.execute(query).scalars())


def update_point(connection: sa.Connection, point_id: str, values: dict[str, Any]) -> None:
    rows.update(connection, "metering point", point_id, **values)


def rated_until(connection: sa.Connection, point_id: str) -> int | None:
    """Epoch second up to which the point's energy has been posted, if any."""
    return connection.execute(
        sa.select(rating_cursors.c.ts).where(rating_cursors.c.point_id == point_id)
    ).scalar()


def latest_rated(connection: sa.Connection) -> int | None:
    """Epoch second of the newest rated reading of any point."""
    return connection.execute(sa.select(sa.func.max(rating_cursors.c.ts))).scalar()


def assign(connection: sa.Connection, tenant_id: str, point_ids: Sequence[str], at_us: int) -> None:
    connection.execute(
        assignments.insert(),
        [
            {"tenant_id": tenant_id, "point_id": p, "start_us": at_us, "end_us": None}
            for p in point_ids
        ],
    )


def open_assignments(connection: sa.Connection, tenant_id: str) -> list[sa.Row[Any]]:
    """The tenant's assignments without an end (id, point_id, start_us)."""
    query = sa.select(assignments.c.id, assignments.c.point_id, assignments.c.start_us).where(
        (assignments.c.tenant_id == tenant_id) & assignments.c.end_us.is_(None)
    )
    return list(connection.execute(query))


def end_assignments(connection: sa.Connection, assignment_ids: Sequence[int], at_us: int) -> None:
    connection.execute(
        assignments.update().where(assignments.c.id.in_(assignment_ids)).values(end_us=at_us)
    )
