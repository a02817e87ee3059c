"""Read-only SQL the pages need beyond the service's published states."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from tenant_ledger.billing.resources import Resource
from tenant_ledger.db import point_numbers
from tenant_ledger.db.schema import audit_log, metering_points, reading_points, readings


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredReading:
    point_id: str
    ts: int
    energy_wh: int


def readings_between(
    connection: sa.Connection, windows: Mapping[str, Sequence[tuple[int, int]]], limit: int
) -> list[StoredReading]:
    """Readings of each point inside its windows (epoch seconds, both ends included)."""
    held = [
        point_numbers.of_point(point_id) & readings.c.ts.between(begin, finish)
        for point_id, spans in windows.items()
        for begin, finish in spans
    ]
    if not held:
        return []
    query = (
        sa.select(reading_points.c.point_id, readings.c.ts, readings.c.energy_wh)
        .select_from(point_numbers.WITH_POINT_IDS)
        .where(sa.or_(*held))
        .order_by(readings.c.ts.desc(), reading_points.c.point_id)
        .limit(limit)
    )
    return [
        StoredReading(point_id=row.point_id, ts=row.ts, energy_wh=row.energy_wh)
        for row in connection.execute(query)
    ]


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    from_us: int | None = None
    to_us: int | None = None


def audit_rows(
    connection: sa.Connection, wanted: AuditFilter, limit: int
) -> list[sa.Row[tuple[int, int, str, str, str, str, str]]]:
    """The audit log newest first, filtered by exact actor/action and a time range."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if wanted.actor:
        query = query.where(audit_log.c.actor == wanted.actor)
    if wanted.action:
        query = query.where(audit_log.c.action == wanted.action)
    if wanted.from_us is not None:
        query = query.where(audit_log.c.ts_us >= wanted.from_us)
    if wanted.to_us is not None:
        query = query.where(audit_log.c.ts_us < wanted.to_us)
    return list(connection.execute(query))


def audit_choices(connection: sa.Connection) -> tuple[list[str], list[str]]:
    """Every actor and action in the log, for the filter form's lists."""
    actors = connection.execute(sa.select(audit_log.c.actor).distinct().order_by("actor"))
    actions = connection.execute(sa.select(audit_log.c.action).distinct().order_by("action"))
    return list(actors.scalars()), list(actions.scalars())


@dataclass(frozen=True, kw_only=True, slots=True)
class PointRow:
    point_id: str
    name: str
    space_id: str | None
    resource: Resource
    last_ts: int | None
    last_wh: int | None
    """The latest register, in the resource's base unit (Wh or L)."""


def point_rows(connection: sa.Connection) -> list[PointRow]:
    """Every metering point with its latest reading."""
    latest = (
        sa.select(readings.c.point, sa.func.max(readings.c.ts).label("ts"))
        .group_by(readings.c.point)
        .subquery()
    )
    query = (
        sa.select(
            metering_points.c.id,
            metering_points.c.name,
            metering_points.c.space_id,
            metering_points.c.resource,
            readings.c.ts,
            readings.c.energy_wh,
        )
        .select_from(metering_points)
        .outerjoin(reading_points, reading_points.c.point_id == metering_points.c.id)
        .outerjoin(latest, latest.c.point == reading_points.c.id)
        .outerjoin(readings, (readings.c.point == latest.c.point) & (readings.c.ts == latest.c.ts))
        .order_by(metering_points.c.id)
    )
    return [
        PointRow(
            point_id=row[0],
            name=row[1],
            space_id=row[2],
            resource=Resource(row[3]),
            last_ts=row[4],
            last_wh=row[5],
        )
        for row in connection.execute(query)
    ]
