"""Several messages stored as one batch: the same rows, quarantines, conflicts and per-message
counts as storing them one after the other (real SQLite file, the real store)."""

from collections.abc import Iterator
import itertools
from pathlib import Path
from typing import Any

from hypothesis import given, settings, strategies as st
import pytest
import sqlalchemy as sa

from tenant_ledger.billing.plausibility import EARLIEST_TS, MAX_AHEAD_S, PointLimit
from tenant_ledger.billing.resources import Resource, Unit
from tenant_ledger.db import engine as db_engine
from tenant_ledger.db.catalog import create_site
from tenant_ledger.db.point_numbers import WITH_POINT_IDS
from tenant_ledger.db.readings_store import (
    PointLimits,
    StoredBatch,
    StoreResult,
    store_messages,
    store_readings,
)
from tenant_ledger.db.schema import (
    quarantined_readings,
    reading_conflicts,
    reading_points,
    readings,
    unregistered_point_units,
)
from tenant_ledger.readings_in import IncomingReading

from .storage_fixtures import KEY

NOW_S = 1_795_132_800
NOW_US = NOW_S * 1_000_000
BASE_TS = 1_795_000_000
FUTURE = NOW_S + MAX_AHEAD_S + 1 - BASE_TS
BEFORE_2000 = EARLIEST_TS - 1 - BASE_TS
_RUNS = itertools.count()

type Spec = list[list[tuple[int, int, int, Unit]]]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path: Path = tmp_path_factory.mktemp("batches")
    engine = db_engine.create_engine(db_engine.default_url(path), key=KEY)
    db_engine.upgrade(engine)
    with engine.begin() as connection:
        create_site(connection, timezone="Europe/Berlin", currency="EUR", at_us=0)
    yield engine
    engine.dispose()


def _limit(point_id: str, unit: Unit) -> PointLimit:
    """Points 0 and 1 measure electricity, at most 3600 Wh/h (1 Wh/s); point 2 is not
    registered (its first stored reading's unit decides)."""
    if point_id.endswith(":2"):
        return PointLimit.unregistered(unit)
    return PointLimit(resource=Resource.ELECTRICITY, max_per_hour=3600)


def _messages(prefix: str, spec: Spec) -> list[list[IncomingReading]]:
    return [
        [
            IncomingReading(f"{prefix}:{point}", BASE_TS + ts, value, unit, None)
            for point, ts, value, unit in message
        ]
        for message in spec
    ]


def _stored(engine: sa.Engine, prefix: str) -> tuple[list[tuple[Any, ...]], ...]:
    """The rows stored, conflicts, quarantines and remembered units for ``prefix``'s points,
    prefix removed."""
    cut = len(prefix) + 1
    point_id = reading_points.c.point_id
    queries = [
        sa.select(point_id, readings.c.ts, readings.c.energy_wh)
        .select_from(WITH_POINT_IDS)
        .where(point_id.startswith(f"{prefix}:")),
        *(
            sa.select(*columns).where(columns[0].startswith(f"{prefix}:"))
            for columns in (
                (
                    reading_conflicts.c.point_id,
                    reading_conflicts.c.ts,
                    reading_conflicts.c.energy_wh,
                    reading_conflicts.c.kept_energy_wh,
                ),
                (
                    quarantined_readings.c.point_id,
                    quarantined_readings.c.ts,
                    quarantined_readings.c.energy_wh,
                    quarantined_readings.c.unit,
                    quarantined_readings.c.reason,
                    quarantined_readings.c.detail,
                ),
                (unregistered_point_units.c.point_id, unregistered_point_units.c.unit),
            )
        ),
    ]
    with engine.connect() as connection:
        return tuple(
            sorted(
                (point[cut:], *(_unprefixed(value, prefix) for value in rest))
                for point, *rest in connection.execute(query)
            )
            for query in queries
        )


def _unprefixed(value: object, prefix: str) -> object:
    """A quarantine's detail names its point: without the run's prefix, both runs' match."""
    return value.replace(f"{prefix}:", "") if isinstance(value, str) else value


def _counts(result: StoreResult) -> tuple[object, ...]:
    points = frozenset(point.split(":", 1)[1] for point in result.points)
    quarantined = [
        (
            _unprefixed(item.reading.point_id, item.reading.point_id.split(":", 1)[0]),
            item.reading.ts,
            item.reading.register,
            item.reading.unit,
            item.verdict.reason,
            _unprefixed(item.verdict.detail, item.reading.point_id.split(":", 1)[0]),
        )
        for item in result.quarantined
    ]
    return result.stored, result.duplicates, result.conflicts, points, quarantined


messages = st.lists(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),
            st.integers(min_value=0, max_value=6) | st.sampled_from([FUTURE, BEFORE_2000]),
            st.integers(min_value=0, max_value=12),
            st.sampled_from([Unit.WH, Unit.WH, Unit.L]),
        ),
        max_size=8,
    ),
    min_size=1,
    max_size=5,
)


def _one_after_another_and_batched(
    engine: sa.Engine, stored_before: Spec, spec: Spec, limits: PointLimits | None
) -> tuple[list[StoreResult], StoredBatch, str, str]:
    run = next(_RUNS)
    one_by_one, batched = f"s{run}", f"b{run}"
    with engine.begin() as connection:
        for prefix in (one_by_one, batched):
            for message in _messages(prefix, stored_before):
                store_readings(connection, message, NOW_US, limits)
    with engine.begin() as connection:
        expected = [
            store_readings(connection, message, NOW_US, limits)
            for message in _messages(one_by_one, spec)
        ]
    with engine.begin() as connection:
        batch = store_messages(connection, _messages(batched, spec), NOW_US, limits)
    return expected, batch, one_by_one, batched


@pytest.mark.parametrize("limits", [None, _limit], ids=["unchecked", "checked"])
@settings(max_examples=80, deadline=None)
@given(stored_before=messages, spec=messages)
def test_a_batch_of_messages_stores_and_counts_as_one_message_after_another(
    engine: sa.Engine, limits: PointLimits | None, stored_before: Spec, spec: Spec
) -> None:
    expected, batch, one_by_one, batched = _one_after_another_and_batched(
        engine, stored_before, spec, limits
    )
    assert [_counts(result) for result in batch.results] == [_counts(result) for result in expected]
    stored = _stored(engine, batched)
    assert stored == _stored(engine, one_by_one)
    # What the rater takes from memory instead of reading back: the point's new rows, in order.
    for point_id, new in batch.appended.items():
        after = -1 if new.after is None else new.after.ts
        point = point_id.split(":", 1)[1]
        rows = [(ts, wh) for name, ts, wh in stored[0] if name == point and ts > after]
        assert [tuple(register) for register in new.registers] == rows


HOUR = 3600
T = NOW_S - BASE_TS
"""The batch's reference instant, as an offset from ``BASE_TS``."""


def _ten_kwh_per_hour(_point_id: str, _unit: Unit) -> PointLimit:
    return PointLimit(resource=Resource.ELECTRICITY, max_per_hour=10_000)


def test_a_correction_after_a_quarantined_spike_is_stored_in_the_same_batch(
    engine: sa.Engine,
) -> None:
    """The spike's instant is still free: the next message's value for it is judged, not taken
    for a repeat of the spike."""
    expected, batch, one_by_one, batched = _one_after_another_and_batched(
        engine,
        [[(0, T - 2 * HOUR, 1000, Unit.WH)]],
        [[(0, T - HOUR, 9_999_999, Unit.WH)], [(0, T - HOUR, 1500, Unit.WH)]],
        _ten_kwh_per_hour,
    )
    counts = [result[:3] for result in map(_counts, batch.results)]
    assert counts == [(0, 0, 0), (1, 0, 0)]
    assert [len(result.quarantined) for result in batch.results] == [1, 0]
    stored, conflicts, quarantined, _units = _stored(engine, batched)
    assert stored == [("0", BASE_TS + T - 2 * HOUR, 1000), ("0", BASE_TS + T - HOUR, 1500)]
    assert conflicts == []
    assert [row[:3] for row in quarantined] == [("0", BASE_TS + T - HOUR, 9_999_999)]
    assert [_counts(result) for result in batch.results] == [_counts(result) for result in expected]
    assert _stored(engine, one_by_one) == _stored(engine, batched)


def test_a_correction_after_a_spike_in_the_same_message_is_stored(engine: sa.Engine) -> None:
    _expected, batch, _one_by_one, batched = _one_after_another_and_batched(
        engine,
        [[(0, T - 2 * HOUR, 1000, Unit.WH)]],
        [[(0, T - HOUR, 9_999_999, Unit.WH), (0, T - HOUR, 1500, Unit.WH)]],
        _ten_kwh_per_hour,
    )
    assert [result[:3] for result in map(_counts, batch.results)] == [(1, 0, 0)]
    assert [item.reading.register for item in batch.results[0].quarantined] == [9_999_999]
    stored, conflicts, quarantined, _units = _stored(engine, batched)
    assert stored == [("0", BASE_TS + T - 2 * HOUR, 1000), ("0", BASE_TS + T - HOUR, 1500)]
    assert conflicts == []
    assert [row[:3] for row in quarantined] == [("0", BASE_TS + T - HOUR, 9_999_999)]


def test_a_later_message_is_judged_against_an_earlier_ones_stored_reading(
    engine: sa.Engine,
) -> None:
    """Message 1's newer reading is stored first, so message 2's older one is judged against
    it (and quarantined), whatever their times: batching changes nothing stored."""
    expected, batch, one_by_one, batched = _one_after_another_and_batched(
        engine,
        [[(0, T - 2 * HOUR, 1000, Unit.WH)]],
        [[(0, T - HOUR // 2, 16_000, Unit.WH)], [(0, T - HOUR, 1500, Unit.WH)]],
        _ten_kwh_per_hour,
    )
    assert [result[:3] for result in map(_counts, batch.results)] == [(1, 0, 0), (0, 0, 0)]
    assert [item.reading.register for item in batch.results[1].quarantined] == [1500]
    stored, _conflicts, quarantined, _units = _stored(engine, batched)
    assert stored == [("0", BASE_TS + T - 2 * HOUR, 1000), ("0", BASE_TS + T - HOUR // 2, 16_000)]
    assert [row[:3] for row in quarantined] == [("0", BASE_TS + T - HOUR, 1500)]
    assert [_counts(result) for result in batch.results] == [_counts(result) for result in expected]
    assert _stored(engine, one_by_one) == _stored(engine, batched)
