"""Several messages stored as one batch: the same rows and the same per-message counts as
storing them one after the other (real SQLite file, the real store)."""

from collections.abc import Iterator
import itertools
from pathlib import Path

from hypothesis import given, settings, strategies as st
import pytest
import sqlalchemy as sa

from tenant_ledger.billing.resources import Unit
from tenant_ledger.db import engine as db_engine
from tenant_ledger.db.catalog import create_site
from tenant_ledger.db.point_numbers import WITH_POINT_IDS
from tenant_ledger.db.readings_store import StoreResult, store_messages, store_readings
from tenant_ledger.db.schema import reading_conflicts, reading_points, readings
from tenant_ledger.readings_in import IncomingReading

from .storage_fixtures import KEY

NOW_US = 1_795_132_800 * 1_000_000
_RUNS = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path: Path = tmp_path_factory.mktemp("batches")
    engine = db_engine.create_engine(db_engine.default_url(path), key=KEY)
    db_engine.upgrade(engine)
    with engine.begin() as connection:
        create_site(connection, timezone="Europe/Berlin", currency="EUR", at_us=0)
    yield engine
    engine.dispose()


def _messages(prefix: str, spec: list[list[tuple[int, int, int]]]) -> list[list[IncomingReading]]:
    return [
        [
            IncomingReading(f"{prefix}:{point}", 1_795_000_000 + ts, value, Unit.WH, None)
            for point, ts, value in message
        ]
        for message in spec
    ]


def _stored(
    engine: sa.Engine, prefix: str
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int, int]]]:
    """The rows stored and the conflicts recorded for ``prefix``'s points, prefix removed."""
    with engine.connect() as connection:
        point_id = reading_points.c.point_id
        rows = connection.execute(
            sa.select(point_id, readings.c.ts, readings.c.energy_wh)
            .select_from(WITH_POINT_IDS)
            .where(point_id.startswith(f"{prefix}:"))
            .order_by(point_id, readings.c.ts)
        ).all()
        conflicts = connection.execute(
            sa.select(
                reading_conflicts.c.point_id,
                reading_conflicts.c.ts,
                reading_conflicts.c.energy_wh,
                reading_conflicts.c.kept_energy_wh,
            )
            .where(reading_conflicts.c.point_id.startswith(f"{prefix}:"))
            .order_by(reading_conflicts.c.point_id, reading_conflicts.c.ts)
        ).all()
    cut = len(prefix) + 1
    return (
        [(point[cut:], ts, wh) for point, ts, wh in rows],
        sorted((point[cut:], *rest) for point, *rest in conflicts),
    )


def _counts(result: StoreResult) -> tuple[int, int, int, frozenset[str]]:
    points = frozenset(point.split(":", 1)[1] for point in result.points)
    return result.stored, result.duplicates, result.conflicts, points


messages = st.lists(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2),
            st.integers(min_value=0, max_value=6),
            st.integers(min_value=0, max_value=3),
        ),
        max_size=8,
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=80, deadline=None)
@given(stored_before=messages, spec=messages)
def test_a_batch_of_messages_stores_and_counts_as_one_message_after_another(
    engine: sa.Engine,
    stored_before: list[list[tuple[int, int, int]]],
    spec: list[list[tuple[int, int, int]]],
) -> None:
    run = next(_RUNS)
    one_by_one, batched = f"s{run}", f"b{run}"
    with engine.begin() as connection:
        for prefix in (one_by_one, batched):
            for message in _messages(prefix, stored_before):
                store_readings(connection, message, NOW_US, None)
    with engine.begin() as connection:
        expected = [
            _counts(store_readings(connection, message, NOW_US, None))
            for message in _messages(one_by_one, spec)
        ]
    with engine.begin() as connection:
        results = store_messages(connection, _messages(batched, spec), NOW_US, None).results
    assert [_counts(result) for result in results] == expected
    assert _stored(engine, batched) == _stored(engine, one_by_one)
