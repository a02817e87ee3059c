"""Leak watches (which points are watched at night, and how) and the alarms they raised."""

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, time
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing.night_flow import NightJudgement, NightWindow, RegisterRead
from tenant_ledger.billing.timestamps import US_PER_SECOND
from tenant_ledger.db import point_numbers
from tenant_ledger.db.schema import leak_alarms, leak_watches, readings


@dataclass(frozen=True, kw_only=True, slots=True)
class LeakWatch:
    point_id: str
    window: NightWindow
    minimum_per_hour: int
    """Base units of the point's register per hour (L/h for water)."""
    enabled: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class LeakAlarm:
    id: int
    point_id: str
    night: date
    window_start_us: int
    window_end_us: int
    minimum_per_hour: int
    lowest_per_hour: int
    volume: int
    detected_at_us: int
    acknowledged_at_us: int | None
    acknowledged_by: str | None


def _minute(value: time) -> int:
    return value.hour * 60 + value.minute


def _watch(row: sa.Row[Any]) -> LeakWatch:
    return LeakWatch(
        point_id=row.point_id,
        window=NightWindow(
            start=time(*divmod(row.window_start_min, 60)),
            end=time(*divmod(row.window_end_min, 60)),
        ),
        minimum_per_hour=row.minimum_per_hour,
        enabled=row.enabled,
    )


def _alarm(row: sa.Row[Any]) -> LeakAlarm:
    return LeakAlarm(**{name: getattr(row, name) for name in LeakAlarm.__dataclass_fields__})


def watch_of(connection: sa.Connection, point_id: str) -> LeakWatch | None:
    row = connection.execute(
        sa.select(leak_watches).where(leak_watches.c.point_id == point_id)
    ).first()
    return None if row is None else _watch(row)


def watches(connection: sa.Connection, point_ids: Collection[str] | None = None) -> list[LeakWatch]:
    """The watches of ``point_ids`` (None: all), by point."""
    query = sa.select(leak_watches).order_by(leak_watches.c.point_id)
    if point_ids is not None:
        query = query.where(leak_watches.c.point_id.in_(sorted(point_ids)))
    return [_watch(row) for row in connection.execute(query)]


def put_watch(connection: sa.Connection, watch: LeakWatch, now_us: int) -> None:
    values = {
        "window_start_min": _minute(watch.window.start),
        "window_end_min": _minute(watch.window.end),
        "minimum_per_hour": watch.minimum_per_hour,
        "enabled": watch.enabled,
        "updated_at_us": now_us,
    }
    changed = connection.execute(
        leak_watches.update().where(leak_watches.c.point_id == watch.point_id).values(values)
    ).rowcount
    if not changed:
        connection.execute(leak_watches.insert().values(point_id=watch.point_id, **values))


def delete_watch(connection: sa.Connection, point_id: str) -> bool:
    deleted = connection.execute(
        leak_watches.delete().where(leak_watches.c.point_id == point_id)
    ).rowcount
    return bool(deleted)


def register_reads(
    connection: sa.Connection, point_id: str, start_us: int, end_us: int
) -> Iterator[RegisterRead]:
    """The point's stored readings from ``start_us`` to ``end_us`` (inclusive)."""
    start_s = -(-start_us // US_PER_SECOND)
    end_s = end_us // US_PER_SECOND
    rows = connection.execute(
        sa.select(readings.c.ts, readings.c.energy_wh)
        .where(point_numbers.of_point(point_id), readings.c.ts.between(start_s, end_s))
        .order_by(readings.c.ts)
    )
    for ts, value in rows:
        yield RegisterRead(ts_us=ts * US_PER_SECOND, value=value)


def record_alarm(
    connection: sa.Connection,
    point_id: str,
    judgement: NightJudgement,
    minimum_per_hour: int,
    now_us: int,
) -> LeakAlarm | None:
    """Record the night's alarm; None when the point already has one for that night."""
    assert judgement.lowest_per_hour is not None
    assert judgement.volume is not None
    if alarm_of_night(connection, point_id, judgement.night) is not None:
        return None
    connection.execute(
        leak_alarms.insert().values(
            point_id=point_id,
            night=judgement.night,
            window_start_us=judgement.start_us,
            window_end_us=judgement.end_us,
            minimum_per_hour=minimum_per_hour,
            lowest_per_hour=judgement.lowest_per_hour,
            volume=judgement.volume,
            detected_at_us=now_us,
        )
    )
    return alarm_of_night(connection, point_id, judgement.night)


def alarm_of_night(connection: sa.Connection, point_id: str, night: date) -> LeakAlarm | None:
    row = connection.execute(
        sa.select(leak_alarms).where(
            leak_alarms.c.point_id == point_id, leak_alarms.c.night == night
        )
    ).first()
    return None if row is None else _alarm(row)


def alarm(connection: sa.Connection, alarm_id: int) -> LeakAlarm | None:
    row = connection.execute(sa.select(leak_alarms).where(leak_alarms.c.id == alarm_id)).first()
    return None if row is None else _alarm(row)


def alarms(
    connection: sa.Connection, *, point_id: str | None, open_only: bool, limit: int
) -> list[LeakAlarm]:
    """Newest night first."""
    query = sa.select(leak_alarms).order_by(leak_alarms.c.night.desc(), leak_alarms.c.point_id)
    if point_id is not None:
        query = query.where(leak_alarms.c.point_id == point_id)
    if open_only:
        query = query.where(leak_alarms.c.acknowledged_at_us.is_(None))
    return [_alarm(row) for row in connection.execute(query.limit(limit))]


def latest_alarm(connection: sa.Connection, point_id: str) -> LeakAlarm | None:
    found = alarms(connection, point_id=point_id, open_only=False, limit=1)
    return found[0] if found else None


def acknowledge(connection: sa.Connection, alarm_id: int, by: str, now_us: int) -> None:
    connection.execute(
        leak_alarms.update()
        .where(leak_alarms.c.id == alarm_id, leak_alarms.c.acknowledged_at_us.is_(None))
        .values(acknowledged_at_us=now_us, acknowledged_by=by)
    )
