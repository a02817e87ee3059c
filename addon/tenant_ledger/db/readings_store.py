"""Storing readings exactly once per (point, ts), in batches."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
import logging

import sqlalchemy as sa

from tenant_ledger.billing import Reading, from_epoch
from tenant_ledger.db.engine import insert_ignoring_duplicates
from tenant_ledger.db.schema import reading_conflicts, readings
from tenant_ledger.readings_in import IncomingReading

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class StoreResult:
    stored: int
    duplicates: int
    conflicts: int
    points: frozenset[str]
    """Points that received at least one new reading (to be rated)."""


def store_readings(
    connection: sa.Connection, batch: Sequence[IncomingReading], received_at_us: int
) -> StoreResult:
    """Insert new readings, ignore exact repeats, record conflicting repeats.

    A conflict (same point and instant, different register) keeps the value stored first: it
    may already have been rated, and re-rating history silently would change posted money. The
    value turned away is logged, counted and kept in ``reading_conflicts`` (once per distinct
    value) for the landlord to see.
    """
    unique: dict[tuple[str, int], IncomingReading] = {}
    for reading in batch:
        unique.setdefault((reading.point_id, reading.ts), reading)
    rows = [
        {
            "point_id": reading.point_id,
            "ts": reading.ts,
            "energy_wh": reading.energy_wh,
            "seq": reading.seq,
            "received_at_us": received_at_us,
        }
        for reading in unique.values()
    ]
    inserted: set[tuple[str, int]] = set()
    if rows:
        statement = insert_ignoring_duplicates(connection.engine, readings).returning(
            readings.c.point_id, readings.c.ts
        )
        inserted = {(row.point_id, row.ts) for row in connection.execute(statement, rows)}
    kept = {key: reading.energy_wh for key, reading in unique.items() if key in inserted}
    kept |= _stored_values(
        connection, [reading for key, reading in unique.items() if key not in inserted]
    )
    conflicts = [
        (reading, kept[key])
        for reading in batch
        if (key := (reading.point_id, reading.ts)) in kept and kept[key] != reading.energy_wh
    ]
    _record_conflicts(connection, conflicts, received_at_us)
    return StoreResult(
        stored=len(inserted),
        duplicates=len(batch) - len(inserted) - len(conflicts),
        conflicts=len(conflicts),
        points=frozenset(point for point, _ in inserted),
    )


def _stored_values(
    connection: sa.Connection, repeated: Sequence[IncomingReading]
) -> dict[tuple[str, int], int]:
    stored: dict[tuple[str, int], int] = {}
    for point_id in {reading.point_id for reading in repeated}:
        times = [reading.ts for reading in repeated if reading.point_id == point_id]
        query = sa.select(readings.c.ts, readings.c.energy_wh).where(
            readings.c.point_id == point_id, readings.c.ts.in_(times)
        )
        stored.update(((point_id, row.ts), row.energy_wh) for row in connection.execute(query))
    return stored


def _record_conflicts(
    connection: sa.Connection,
    conflicts: Sequence[tuple[IncomingReading, int]],
    received_at_us: int,
) -> None:
    for reading, kept in conflicts:
        _LOGGER.warning(
            "conflicting reading for %s at %s: %s Wh received, %s Wh kept",
            reading.point_id,
            reading.ts,
            reading.energy_wh,
            kept,
        )
    if conflicts:
        connection.execute(
            insert_ignoring_duplicates(connection.engine, reading_conflicts),
            [
                {
                    "point_id": reading.point_id,
                    "ts": reading.ts,
                    "energy_wh": reading.energy_wh,
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
    where = readings.c.point_id == point_id
    before = connection.execute(
        sa.select(sa.func.max(readings.c.ts)).where(where & (readings.c.ts <= start_s))
    ).scalar()
    after = connection.execute(
        sa.select(sa.func.min(readings.c.ts)).where(where & (readings.c.ts >= end_s))
    ).scalar()
    low = start_s if before is None else before
    high = end_s if after is None else after
    query = sa.select(readings.c.ts, readings.c.energy_wh).where(
        where & readings.c.ts.between(low, high)
    )
    for row in connection.execute(query):
        yield Reading(point_id=point_id, ts=from_epoch(row.ts), energy_wh=row.energy_wh)
