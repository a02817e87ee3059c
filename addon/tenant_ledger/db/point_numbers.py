"""Readings name their point by a number (``reading_points``, revision 0017), not its id.

A point's number is given when its first reading is stored and never changes.
"""

from collections.abc import Iterable
from typing import Final

import sqlalchemy as sa

from tenant_ledger.db.schema import reading_points, readings

WITH_POINT_IDS: Final = readings.join(reading_points, readings.c.point == reading_points.c.id)
"""Readings beside the id of their point (``reading_points.c.point_id``)."""


def of_point(point_id: str) -> sa.ColumnElement[bool]:
    """The readings of ``point_id`` (none for a point never read)."""
    number = sa.select(reading_points.c.id).where(reading_points.c.point_id == point_id)
    return readings.c.point == number.scalar_subquery()


def numbers(connection: sa.Connection, point_ids: Iterable[str]) -> dict[str, int]:
    """The number of each point id; the next ones for points whose first readings these are."""
    wanted = set(point_ids)
    if not wanted:
        return {}
    query = sa.select(reading_points).where(reading_points.c.point_id.in_(wanted))
    found = {row.point_id: row.id for row in connection.execute(query)}
    new = sorted(wanted - found.keys())
    if new:
        newest = connection.execute(sa.select(sa.func.max(reading_points.c.id))).scalar()
        first = 1 if newest is None else int(newest) + 1
        given = {point_id: first + offset for offset, point_id in enumerate(new)}
        connection.execute(
            reading_points.insert(),
            [{"id": number, "point_id": point_id} for point_id, number in given.items()],
        )
        found |= given
    return found
