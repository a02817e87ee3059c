"""Rating several points at once, across a billing-period edge and a tariff's start: every period
posts its exact usage times the rate, rounded once, however the readings are batched (real
SQLite file, the real store and rater)."""

from collections.abc import Iterator
from fractions import Fraction
import itertools
from pathlib import Path

from hypothesis import given, settings, strategies as st
import pytest
import sqlalchemy as sa

from tenant_ledger import operations as ops
from tenant_ledger.billing import PlanKind, Reading, consumption, from_epoch, round_half_up
from tenant_ledger.billing.plausibility import Register
from tenant_ledger.billing.resources import Resource, Unit
from tenant_ledger.db import engine as db_engine, journal_store, rating_store
from tenant_ledger.db.audit import Action
from tenant_ledger.db.catalog import PlanSettings, create_site, load_catalog
from tenant_ledger.db.readings_store import store_messages, store_readings
from tenant_ledger.db.schema import rating_periods
from tenant_ledger.journal import tenant_account
from tenant_ledger.rater import rate_points
from tenant_ledger.readings_in import IncomingReading

from .storage_fixtures import KEY

NOV_1 = 1_793_487_600  # 2026-11-01 00:00 Europe/Berlin
DEC_1 = 1_796_079_600  # 2026-12-01 00:00 Europe/Berlin
TARIFF_FROM = NOV_1 + 26 * 86_400  # the tariff starts on 27 November
NOW_US = (DEC_1 + 20 * 86_400) * 1_000_000
RATE = Fraction("0.2917")
_RUNS = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path: Path = tmp_path_factory.mktemp("rating-batches")
    engine = db_engine.create_engine(db_engine.default_url(path), key=KEY)
    db_engine.upgrade(engine)
    action = Action(actor="test", reason="setup", now_us=NOW_US)
    with engine.begin() as connection:
        create_site(connection, timezone="Europe/Berlin", currency="EUR", at_us=0)
        ops.add_tariff_version(
            connection,
            load_catalog(connection),
            action,
            tariff_id="std",
            name=None,
            body={
                "currency": "EUR",
                "timezone": "Europe/Berlin",
                "energy": {"type": "flat", "rate": "0.2917"},
            },
            effective_from_us=TARIFF_FROM * 1_000_000,
            resource=Resource.ELECTRICITY,
        )
        plan = PlanSettings(
            id="plan",
            name="P",
            kind=PlanKind.POSTPAID,
            tariff_id="std",
            low_balance_minor=0,
            credit_limit_minor=0,
            reconnect_minimum_minor=0,
            billing_day=1,
            due_days=14,
            grace_days=0,
            quota=None,
            others={},
        )
        ops.create_plan(connection, load_catalog(connection), action, plan)
    yield engine
    engine.dispose()


def _tenants(engine: sa.Engine, prefix: str, count: int) -> list[str]:
    """``count`` tenants on the plan, each holding its own point (same id) from 1 November."""
    action = Action(actor="test", reason="setup", now_us=NOW_US)
    ids = [f"{prefix}-{n}" for n in range(count)]
    with engine.begin() as connection:
        for tenant_id in ids:
            ops.create_tenant(
                connection, load_catalog(connection), action, tenant_id=tenant_id, name="T",
                plan_id="plan",
            )  # fmt: skip
            ops.create_point(
                connection, load_catalog(connection), action, point_id=tenant_id, name="P",
                space_id=None, resource=Resource.ELECTRICITY,
            )  # fmt: skip
            ops.move_in(
                connection, load_catalog(connection), action, tenant_id=tenant_id,
                point_ids=[tenant_id], at_us=NOV_1 * 1_000_000,
            )  # fmt: skip
    return ids


def _feed(engine: sa.Engine, readings: list[IncomingReading], cuts: list[int]) -> None:
    """Store and rate ``readings`` (all points mixed) in batches cut at ``cuts``."""
    ends = sorted({len(readings), *(cut % (len(readings) + 1) for cut in cuts)})
    start = 0
    for end in ends:
        with engine.begin() as connection:
            result = store_readings(connection, readings[start:end], NOW_US, None)
            rate_points(connection, load_catalog(connection), result.points, NOW_US)
        start = end


def _rated(engine: sa.Engine, tenant_id: str) -> tuple[int, dict[int, int]]:
    """The tenant's balance and the usage rated per period start."""
    with engine.connect() as connection:
        account = tenant_account(tenant_id)
        balance = journal_store.balances(connection, [account])[account]
        rows = connection.execute(
            sa.select(rating_periods.c.period_start_us, rating_periods.c.energy_wh).where(
                rating_periods.c.tenant_id == tenant_id
            )
        ).all()
    return balance, {row.period_start_us: row.energy_wh for row in rows}


def _expected(series: list[tuple[int, int]]) -> dict[int, int]:
    """Usage per period start (µs) after the tariff's start, as the billing engine splits it."""
    readings = [Reading(point_id="p", ts=from_epoch(ts), energy_wh=wh) for ts, wh in series]
    expected: dict[int, int] = {}
    for interval in consumption(readings)["p"].intervals:
        billed = interval.clip(TARIFF_FROM * 1_000_000, interval.end_us)
        for start, end in ((NOV_1, DEC_1), (DEC_1, DEC_1 + 31 * 86_400)):
            piece = None if billed is None else billed.clip(start * 1_000_000, end * 1_000_000)
            if piece is not None and piece.energy_wh:
                expected[start * 1_000_000] = expected.get(start * 1_000_000, 0) + piece.energy_wh
    return expected


steps = st.lists(
    st.tuples(st.integers(min_value=3_600, max_value=4 * 86_400), st.integers(0, 20_000)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(
    series_steps=st.lists(steps, min_size=1, max_size=3),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
)
def test_each_period_posts_its_usage_rounded_once_however_points_are_batched(
    engine: sa.Engine, series_steps: list[list[tuple[int, int]]], cuts: list[int]
) -> None:
    run = next(_RUNS)
    batched = _tenants(engine, f"b{run}", len(series_steps))
    whole = _tenants(engine, f"w{run}", len(series_steps))
    serieses = []
    for steps_of_point in series_steps:
        ts, register, series = NOV_1 + 24 * 86_400, 50_000, []
        for gap, rise in steps_of_point:
            series.append((ts, register))
            ts, register = ts + gap, register + rise
        series.append((ts, register))
        serieses.append(series)

    def readings(points: list[str]) -> list[IncomingReading]:
        # Interleaved by time, as a building's messages arrive.
        mixed = [
            IncomingReading(point, ts, wh, Unit.WH, None)
            for point, series in zip(points, serieses, strict=True)
            for ts, wh in series
        ]
        return sorted(mixed, key=lambda reading: reading.ts)

    _feed(engine, readings(batched), cuts)
    _feed(engine, readings(whole), [])
    for tenant_id, other, series in zip(batched, whole, serieses, strict=True):
        balance, periods = _rated(engine, tenant_id)
        expected = _expected(series)
        assert periods == expected
        assert -balance == sum(round_half_up(usage * RATE / 10) for usage in expected.values())
        assert _rated(engine, other) == (balance, periods)


def _feed_batches(
    engine: sa.Engine, readings: list[IncomingReading], cuts: list[int], *, from_memory: bool
) -> None:
    """Store and rate ``readings`` in batches cut at ``cuts``; the rater takes the batch's new
    readings as stored (``from_memory``) or reads every point's back from its cursor."""
    ends = sorted({len(readings), *(cut % (len(readings) + 1) for cut in cuts)})
    start = 0
    for end in ends:
        with engine.begin() as connection:
            batch = store_messages(connection, [readings[start:end]], NOW_US, None)
            appended = batch.appended if from_memory else {}
            points = batch.results[0].points
            rate_points(connection, load_catalog(connection), points, NOW_US, appended)
        start = end


def _cursors(engine: sa.Engine, points: list[str]) -> list[Register | None]:
    with engine.connect() as connection:
        found = rating_store.cursors(connection, points)
    return [found.get(point) for point in points]


@settings(max_examples=40, deadline=None)
@given(
    series=st.lists(
        # Any order, repeats, registers that fall (resets) and readings older than the rated
        # ones (a backlog): whatever a batch holds, the rater's two ways agree.
        st.lists(st.tuples(st.integers(0, 40), st.integers(0, 5_000)), min_size=1, max_size=15),
        min_size=1,
        max_size=3,
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=45), max_size=6),
)
def test_rating_a_batch_from_memory_equals_reading_it_back(
    engine: sa.Engine, series: list[list[tuple[int, int]]], cuts: list[int]
) -> None:
    run = next(_RUNS)
    memory, read_back = (
        _tenants(engine, f"m{run}", len(series)),
        _tenants(engine, f"r{run}", len(series)),
    )

    def readings(points: list[str]) -> list[IncomingReading]:
        return [
            IncomingReading(point, DEC_1 + step * 3_600, wh, Unit.WH, None)
            for position in range(max(map(len, series)))
            for point, steps in zip(points, series, strict=True)
            if position < len(steps)
            for step, wh in [steps[position]]
        ]

    _feed_batches(engine, readings(memory), cuts, from_memory=True)
    _feed_batches(engine, readings(read_back), cuts, from_memory=False)
    assert [_rated(engine, t) for t in memory] == [_rated(engine, t) for t in read_back]
    assert _cursors(engine, memory) == _cursors(engine, read_back)
