"""Storing readings exactly once per (point, ts), in batches."""

import bisect
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
import logging
from operator import attrgetter
from typing import Final

import sqlalchemy as sa

from tenant_ledger.billing import Reading, from_epoch
from tenant_ledger.billing.plausibility import (
    Implausible,
    PointLimit,
    Register,
    Verdict,
    check_reading,
    check_unit,
)
from tenant_ledger.billing.resources import Resource, Unit, base_unit
from tenant_ledger.db import sealed
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.engine import dialect_insert, insert_ignoring_duplicates
from tenant_ledger.db.point_numbers import WITH_POINT_IDS, of_point
from tenant_ledger.db.schema import (
    MAX_PARKED_MESSAGES,
    metering_points,
    parked_messages,
    quarantined_readings,
    reading_conflicts,
    reading_points,
    readings,
    unregistered_point_units,
)
from tenant_ledger.errors import conflict, not_found
from tenant_ledger.readings_in import IncomingReading, excerpt, fingerprint, printable

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Quarantined:
    reading: IncomingReading
    verdict: Verdict


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreResult:
    stored: int
    duplicates: int
    conflicts: int
    points: frozenset[str]
    """Points that received at least one new reading (to be rated)."""
    quarantined: tuple[Quarantined, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Appended:
    """A point's readings that a batch stored, every one after those stored before it."""

    after: Register | None
    """The point's newest reading stored before the batch; None: these are its first."""
    registers: list[Register]
    """The new readings, in time order."""


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredBatch:
    results: list[StoreResult]
    """One per message."""
    appended: dict[str, Appended]
    """The points whose new readings all came after their stored ones (the usual batch): what
    the rater would otherwise read back (``rater.rate_points``)."""


type PointLimits = Callable[[str, Unit], PointLimit]
"""A point's resource and maximum per hour (``Catalog.limit_of``), for a reading's unit."""


def store_readings(
    connection: sa.Connection,
    batch: Sequence[IncomingReading],
    received_at_us: int,
    limits: PointLimits | None,
) -> StoreResult:
    """Insert new readings, ignore exact repeats, record conflicting repeats and quarantine.

    A conflict (same point and instant, different register) keeps the value stored first: it
    may already have been rated, and re-rating history silently would change posted money. The
    value turned away is logged, counted and kept in ``reading_conflicts`` (once per distinct
    value) for the landlord to see.

    A new reading that is implausible (``billing.plausibility``) against the stored readings
    next to it, and the batch's own readings accepted before it, goes to
    ``quarantined_readings`` instead (once per distinct value), and so does one whose unit is
    not its point's resource's (for a point not registered yet: not the unit of its first
    stored reading, which is remembered). ``limits`` None stores without the checks (a landlord
    released the reading).
    """
    return store_messages(connection, [batch], received_at_us, limits).results[0]


def store_messages(
    connection: sa.Connection,
    messages: Sequence[Sequence[IncomingReading]],
    received_at_us: int,
    limits: PointLimits | None,
) -> StoredBatch:
    """``store_readings`` for several messages at once, one result per message.

    The batch stores, quarantines, records conflicts and counts exactly as storing its messages
    one after another would: each message is checked in arrival order against the stored
    readings and those its earlier messages stored, but with one lookup of the stored readings
    and one insert for the whole batch.
    """
    stored = _check(connection, messages, received_at_us, limits)
    _record_conflicts(connection, stored.conflicts, received_at_us)
    _record_quarantine(connection, stored.quarantined, received_at_us)
    return StoredBatch(results=stored.results, appended=stored.appended)


class _Judge:
    """The stored readings around a batch, and each point's unit so far, as messages add to
    them."""

    def __init__(
        self,
        connection: sa.Connection,
        batch: Sequence[IncomingReading],
        received_at_us: int,
        limits: PointLimits | None,
    ) -> None:
        self.timelines, self.newest = _timelines(connection, batch)
        self.now_s = received_at_us // 1_000_000
        # Looked up once per point and unit, not per reading.
        kinds = {(reading.point_id, reading.unit) for reading in batch}
        self.limit_of = {} if limits is None else {kind: limits(*kind) for kind in kinds}
        self.unregistered = {
            point_id for (point_id, _), limit in self.limit_of.items() if not limit.registered
        }
        self.seen = units_seen(connection, self.unregistered)
        # A registered point's readings in one unit are all of its resource's unit or none is.
        self.unit_verdicts = {
            kind: check_unit(kind[1], limit, kind[0])
            for kind, limit in self.limit_of.items()
            if limit.registered
        }
        self.first_seen: dict[str, Unit] = {}
        self.fresh: list[IncomingReading] = []
        self.quarantined: list[Quarantined] = []
        self.conflicts: list[tuple[IncomingReading, int]] = []

    def message(self, message: Sequence[IncomingReading]) -> StoreResult:
        """Check one message's readings in time order; each stored one joins its timeline.

        A reading for an instant already stored is a repeat (or a conflict if its value
        differs). An instant whose value was quarantined is still free: another value for it
        is judged on its own, and only the same value again in the message is a repeat.
        """
        timelines, fresh = self.timelines, self.fresh
        points: set[str] = set()
        stored = conflicts = 0
        quarantined: list[Quarantined] = []
        turned_away: set[tuple[str, int, int, Unit]] = set()
        for reading in sorted(message, key=_TS):
            point_id, ts = reading.point_id, reading.ts
            timeline = timelines[point_id]
            # A register sorts after a bare (ts,): the index of the first stored at or after ts.
            index = bisect.bisect_left(timeline, (ts,))
            if index < len(timeline) and timeline[index].ts == ts:
                kept = timeline[index].energy_wh
                if kept != reading.register:
                    self.conflicts.append((reading, kept))
                    conflicts += 1
                continue
            value = (point_id, ts, reading.register, reading.unit)
            if value in turned_away:
                continue
            verdict = self._verdict(reading, timeline, index)
            if verdict is None:
                timeline.insert(index, Register(ts, reading.register))
                fresh.append(reading)
                stored += 1
                points.add(point_id)
                if point_id in self.unregistered and point_id not in self.seen:
                    self.seen[point_id] = self.first_seen[point_id] = reading.unit
            else:
                turned_away.add(value)
                quarantined.append(Quarantined(reading=reading, verdict=verdict))
        self.quarantined += quarantined
        return StoreResult(
            stored=stored,
            duplicates=len(message) - stored - conflicts - len(quarantined),
            conflicts=conflicts,
            points=frozenset(points),
            quarantined=tuple(quarantined),
        )

    def _verdict(
        self, reading: IncomingReading, timeline: list[Register], index: int
    ) -> Verdict | None:
        point_id, unit = reading.point_id, reading.unit
        limit = self.limit_of.get((point_id, unit))
        if limit is None:
            return None
        return (
            self.unit_verdicts[point_id, unit]
            if limit.registered
            else check_unit(unit, limit, point_id, self.seen.get(point_id))
        ) or check_reading(
            Register(reading.ts, reading.register),
            previous=timeline[index - 1] if index else None,
            following=timeline[index] if index < len(timeline) else None,
            max_power_w=limit.max_per_hour,
            now_s=self.now_s,
            unit=unit,
        )

    def appended(self) -> dict[str, Appended]:
        """``StoredBatch.appended``: each such point's timeline is its newest stored reading (if
        any) followed by the batch's, in time order whichever message they came in."""
        appended = {}
        for point_id, last in self.newest.items():
            registers = self.timelines[point_id][0 if last is None else 1 :]
            if registers:
                appended[point_id] = Appended(after=last, registers=registers)
        return appended


@dataclass(frozen=True, kw_only=True, slots=True)
class _Checked:
    results: list[StoreResult]
    quarantined: list[Quarantined]
    conflicts: list[tuple[IncomingReading, int]]
    """Each conflicting reading with the value kept."""
    appended: dict[str, Appended]


def _check(
    connection: sa.Connection,
    messages: Sequence[Sequence[IncomingReading]],
    received_at_us: int,
    limits: PointLimits | None,
) -> _Checked:
    """Insert the new readings of ``messages`` that pass the checks (``store_messages``); the
    quarantined and conflicting ones are left for the caller to record."""
    judge = _Judge(
        connection, [reading for message in messages for reading in message], received_at_us, limits
    )
    results = [judge.message(message) for message in messages]
    fresh, first_seen = judge.fresh, judge.first_seen
    rows = [
        (reading.point_id, reading.ts, reading.register, reading.seq, received_at_us)
        for reading in fresh
    ]
    # Nothing stored matches them (the timelines hold every stored reading of their span), and
    # the ledger is the only writer: each is inserted, with its id and keyed hash.
    sealed.insert(connection, sealed.READINGS, rows)
    if first_seen:
        connection.execute(
            unregistered_point_units.insert(),
            [{"point_id": point_id, "unit": unit.value} for point_id, unit in first_seen.items()],
        )
    return _Checked(
        results=results,
        quarantined=judge.quarantined,
        conflicts=judge.conflicts,
        appended=judge.appended(),
    )


def units_seen(connection: sa.Connection, point_ids: Iterable[str]) -> dict[str, Unit]:
    """The unit of the readings stored for each point not registered yet that has any.

    A point whose readings were stored before revision 0016 has none: its next stored reading
    decides.
    """
    wanted = list(point_ids)
    if not wanted:
        return {}
    query = sa.select(unregistered_point_units).where(
        unregistered_point_units.c.point_id.in_(wanted)
    )
    return {row.point_id: Unit(row.unit) for row in connection.execute(query)}


def _resource_of(connection: sa.Connection, point_id: str) -> Resource | None:
    """What a registered point measures; None for a point not registered yet."""
    query = sa.select(metering_points.c.resource).where(metering_points.c.id == point_id)
    found = connection.execute(query).scalar()
    return None if found is None else Resource(found)


def forget_unit(connection: sa.Connection, point_id: str) -> None:
    """The point is registered now: its resource says what its readings count."""
    connection.execute(
        unregistered_point_units.delete().where(unregistered_point_units.c.point_id == point_id)
    )


_TS: Final = attrgetter("ts")


def _timelines(
    connection: sa.Connection, batch: Sequence[IncomingReading]
) -> tuple[dict[str, list[Register]], dict[str, Register | None]]:
    """Per point, the stored readings the batch needs: its values and each reading's neighbours;
    and the points all of whose readings in the batch are newer than every stored one, with
    their newest stored reading (None: none stored).

    Usually every reading is newer than all stored ones, and the point's newest stored reading
    is all that is needed (one query for the whole batch). A point with an older reading in the
    batch (a backlog, a replay) gets its stored readings across the batch's span.
    """
    spans: dict[str, tuple[int, int]] = {}
    for reading in batch:
        low, high = spans.get(reading.point_id, (reading.ts, reading.ts))
        spans[reading.point_id] = (min(low, reading.ts), max(high, reading.ts))
    newest = _newest(connection, list(spans))
    timelines: dict[str, list[Register]] = {}
    after: dict[str, Register | None] = {}
    for point_id, (low, high) in spans.items():
        last = newest.get(point_id)
        if last is None or last.ts < low:
            timelines[point_id] = [] if last is None else [last]
            after[point_id] = last
        else:
            timelines[point_id] = _stored_span(connection, point_id, low, high)
    return timelines, after


def _newest(connection: sa.Connection, point_ids: Sequence[str]) -> dict[str, Register]:
    if not point_ids:
        return {}
    latest = (
        sa.select(
            reading_points.c.point_id, readings.c.point, sa.func.max(readings.c.ts).label("ts")
        )
        .select_from(WITH_POINT_IDS)
        .where(reading_points.c.point_id.in_(point_ids))
        .group_by(reading_points.c.point_id, readings.c.point)
        .subquery()
    )
    query = sa.select(latest.c.point_id, readings.c.ts, readings.c.energy_wh).join(
        latest, (readings.c.point == latest.c.point) & (readings.c.ts == latest.c.ts)
    )
    return {row.point_id: Register(row.ts, row.energy_wh) for row in connection.execute(query)}


def _stored_span(
    connection: sa.Connection, point_id: str, start_s: int, end_s: int
) -> list[Register]:
    """The point's readings in [start_s, end_s] plus the nearest one outside each edge, by time."""
    where = of_point(point_id)
    before = connection.execute(
        sa.select(sa.func.max(readings.c.ts)).where(where & (readings.c.ts <= start_s))
    ).scalar()
    after = connection.execute(
        sa.select(sa.func.min(readings.c.ts)).where(where & (readings.c.ts >= end_s))
    ).scalar()
    low = start_s if before is None else before
    high = end_s if after is None else after
    query = (
        sa.select(readings.c.ts, readings.c.energy_wh)
        .where(where & readings.c.ts.between(low, high))
        .order_by(readings.c.ts)
    )
    return [Register(row.ts, row.energy_wh) for row in connection.execute(query)]


def _record_quarantine(
    connection: sa.Connection, quarantined: Sequence[Quarantined], received_at_us: int
) -> None:
    _insert_quarantine(
        connection,
        [(item.reading, item.verdict.reason.value, item.verdict.detail) for item in quarantined],
        received_at_us,
    )


def park_readings(
    connection: sa.Connection,
    batch: Sequence[IncomingReading],
    received_at_us: int,
    reason: str,
    detail: str,
) -> None:
    """Quarantine readings that could not be stored, for a landlord to release or drop."""
    _insert_quarantine(connection, [(r, reason, detail) for r in batch], received_at_us)


def park_message(
    connection: sa.Connection, raw: bytes, reason: str, detail: str, received_at_us: int
) -> None:
    """Keep an unreadable message for the landlord: once per distinct payload, counted.

    Only the newest ``MAX_PARKED_MESSAGES`` distinct ones are kept, so a sender flooding the
    broker with garbage cannot fill the disk.
    """
    statement = dialect_insert(connection.engine, parked_messages).values(
        sha256=fingerprint(raw),
        size_bytes=len(raw),
        reason=reason,
        detail=printable(detail),
        excerpt=excerpt(raw),
        first_received_at_us=received_at_us,
        last_received_at_us=received_at_us,
        times=1,
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[parked_messages.c.sha256],
            set_={
                "times": parked_messages.c.times + 1,
                "last_received_at_us": statement.excluded.last_received_at_us,
            },
        )
    )
    oldest_kept = (
        sa.select(parked_messages.c.id)
        .order_by(parked_messages.c.id.desc())
        .offset(MAX_PARKED_MESSAGES - 1)
        .limit(1)
        .scalar_subquery()
    )
    connection.execute(parked_messages.delete().where(parked_messages.c.id < oldest_kept))


def _insert_quarantine(
    connection: sa.Connection,
    items: Sequence[tuple[IncomingReading, str, str]],
    received_at_us: int,
) -> None:
    if items:
        connection.execute(
            insert_ignoring_duplicates(connection.engine, quarantined_readings),
            [
                {
                    "point_id": reading.point_id,
                    "ts": reading.ts,
                    "energy_wh": reading.register,
                    "unit": reading.unit.value,
                    "seq": reading.seq,
                    "reason": reason,
                    "detail": detail,
                    "received_at_us": received_at_us,
                }
                for reading, reason, detail in items
            ],
        )


def _record_conflicts(
    connection: sa.Connection,
    conflicts: Sequence[tuple[IncomingReading, int]],
    received_at_us: int,
) -> None:
    for reading, kept in conflicts:
        _LOGGER.warning(
            "conflicting reading for %s at %s: %s %s received, %s kept",
            reading.point_id,
            reading.ts,
            reading.register,
            reading.unit,
            kept,
        )
    if conflicts:
        connection.execute(
            insert_ignoring_duplicates(connection.engine, reading_conflicts),
            [
                {
                    "point_id": reading.point_id,
                    "ts": reading.ts,
                    "energy_wh": reading.register,
                    "kept_energy_wh": kept,
                    "received_at_us": received_at_us,
                }
                for reading, kept in conflicts
            ],
        )


def readings_near(
    connection: sa.Connection, point_id: str, start_s: int, end_s: int
) -> Iterator[Reading]:
    """The point's readings in [start_s, end_s] plus the nearest one outside each edge."""
    for register in _stored_span(connection, point_id, start_s, end_s):
        yield Reading(point_id=point_id, ts=from_epoch(register.ts), energy_wh=register.energy_wh)


def release_quarantined(
    connection: sa.Connection, action: Action, quarantine_id: int
) -> StoreResult:
    """Store a quarantined reading after all (without the plausibility check), audit-logged.

    Still stored at most once: a value already stored for that point and second stays, and a
    different one is a conflict as usual. Never in another unit than the point's readings (of
    its resource, or for a point not registered yet, of its first stored reading).
    """
    row = connection.execute(
        sa.select(quarantined_readings).where(quarantined_readings.c.id == quarantine_id)
    ).first()
    if row is None:
        raise not_found("quarantined reading", str(quarantine_id))
    if row.released_at_us is not None:
        raise conflict(f"quarantined reading {quarantine_id} was already released")
    if row.reason == Implausible.WRONG_UNIT:
        # Stored, its litres would be read as the point's watt-hours (or the other way round).
        raise conflict(f"quarantined reading {quarantine_id} is not in its point's unit")
    unit = Unit(row.unit)
    resource = _resource_of(connection, row.point_id)
    seen = units_seen(connection, [row.point_id]).get(row.point_id)
    if resource is not None and base_unit(resource) is not unit:
        raise conflict(
            f"quarantined reading {quarantine_id} is in {unit}; {row.point_id} measures "
            f"{resource} ({base_unit(resource)})"
        )
    if seen is not None and seen is not unit:
        raise conflict(
            f"quarantined reading {quarantine_id} is in {unit}; the readings of {row.point_id} "
            f"(not registered yet) are in {seen}"
        )
    connection.execute(
        quarantined_readings.update()
        .where(quarantined_readings.c.id == quarantine_id)
        .values(
            released_at_us=action.now_us, released_by=action.actor, release_reason=action.reason
        )
    )
    reading = IncomingReading(row.point_id, row.ts, row.energy_wh, unit, row.seq)
    result = store_readings(connection, [reading], action.now_us, None)
    if resource is None and seen is None and result.stored:
        connection.execute(
            unregistered_point_units.insert().values(point_id=row.point_id, unit=unit.value)
        )
    audit(
        connection,
        action,
        "release_reading",
        row.point_id,
        {
            "quarantine_id": quarantine_id,
            "ts": row.ts,
            "energy_wh": row.energy_wh,
            "quarantine_reason": row.reason,
            "stored": result.stored,
            "conflicts": result.conflicts,
        },
    )
    return result
