"""Storing readings exactly once per (point, ts), in batches."""

from collections.abc import Sequence
from dataclasses import dataclass
import logging

import sqlalchemy as sa

from tenant_ledger.db.engine import insert_ignoring_duplicates
from tenant_ledger.db.schema import readings
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
    """Insert new readings, ignore exact repeats, log and count conflicting repeats.

    A conflict (same point and instant, different register) keeps the first value: the stored
    reading may already have been rated, and re-rating history silently would change posted
    money.
    """
    unique: dict[tuple[str, int], IncomingReading] = {}
    conflicts: list[tuple[IncomingReading, int]] = []
    for reading in batch:
        first = unique.setdefault((reading.point_id, reading.ts), reading)
        if first.energy_wh != reading.energy_wh:
            conflicts.append((reading, first.energy_wh))
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
    repeated = [reading for key, reading in unique.items() if key not in inserted]
    conflicts.extend(_stored_conflicts(connection, repeated))
    for reading, kept in conflicts:
        _LOGGER.warning(
            "conflicting reading for %s at %s: %s Wh received, %s Wh kept",
            reading.point_id,
            reading.ts,
            reading.energy_wh,
            kept,
        )
    return StoreResult(
        stored=len(inserted),
        duplicates=len(batch) - len(inserted) - len(conflicts),
        conflicts=len(conflicts),
        points=frozenset(point for point, _ in inserted),
    )


def _stored_conflicts(
    connection: sa.Connection, repeated: Sequence[IncomingReading]
) -> list[tuple[IncomingReading, int]]:
    if not repeated:
        return []
    stored: dict[tuple[str, int], int] = {}
    for point_id in {reading.point_id for reading in repeated}:
        times = [reading.ts for reading in repeated if reading.point_id == point_id]
        query = sa.select(readings.c.ts, readings.c.energy_wh).where(
            readings.c.point_id == point_id, readings.c.ts.in_(times)
        )
        stored.update(((point_id, row.ts), row.energy_wh) for row in connection.execute(query))
    return [
        (reading, stored[key])
        for reading in repeated
        if (key := (reading.point_id, reading.ts)) in stored and stored[key] != reading.energy_wh
    ]
