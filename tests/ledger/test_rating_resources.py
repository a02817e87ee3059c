"""Rating per (tenant, resource): each resource with its own tariff, exact in every unit.

Real SQLite files, the real rater and store: usage of any resource, read in any batches, densely
or hours and days apart, posts exactly its register delta times the plan's tariff for that
resource, rounded once; a resource the plan does not bill posts nothing.
"""

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
import itertools
from pathlib import Path

from hypothesis import given, settings, strategies as st
import pytest
import sqlalchemy as sa

from tenant_ledger import ledger_key, operations as ops
from tenant_ledger.billing import PlanKind, round_half_up
from tenant_ledger.billing.resources import Resource, base_unit
from tenant_ledger.db import engine as db_engine, journal_store
from tenant_ledger.db.audit import Action
from tenant_ledger.db.catalog import PlanSettings, ResourceTariff, create_site, load_catalog
from tenant_ledger.db.readings_store import store_readings
from tenant_ledger.db.schema import journal, rating_periods
from tenant_ledger.journal import tenant_account
from tenant_ledger.rater import rate_points
from tenant_ledger.readings_in import IncomingReading

KEY = ledger_key.generate(dict.fromkeys(ledger_key.SERIES, 1), dict.fromkeys(ledger_key.SERIES, 0))
NOV_1 = 1_793_487_600  # 2026-11-01 00:00 Europe/Berlin (23:00 UTC the day before)
NOW_US = (NOV_1 + 40 * 86_400) * 1_000_000
ACTION = Action(actor="test", reason="setup", now_us=NOW_US)
_IDS = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path: Path = tmp_path_factory.mktemp("rating")
    engine = db_engine.create_engine(db_engine.default_url(path), key=KEY)
    db_engine.upgrade(engine)
    with engine.begin() as connection:
        create_site(connection, timezone="Europe/Berlin", currency="EUR", at_us=0)
    yield engine
    engine.dispose()


def _tariff(connection: sa.Connection, tariff_id: str, rate: str, resource: Resource) -> None:
    ops.add_tariff_version(
        connection,
        load_catalog(connection),
        ACTION,
        tariff_id=tariff_id,
        name=None,
        body={
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "energy": {"type": "flat", "rate": rate},
        },
        effective_from_us=0,
        resource=resource,
    )


def _tenant_holding(
    engine: sa.Engine, resource: Resource, rate: str, *, billed: bool = True
) -> tuple[str, str]:
    """A new tenant on a new plan billing ``resource`` at ``rate`` (electricity at 0.30, which
    stays unused), holding a new point of ``resource`` from 1 November."""
    n = next(_IDS)
    tenant_id, point_id, slot = f"t{n}", f"p{n}", f"r{n}"
    with engine.begin() as connection:
        _tariff(connection, f"e{n}", "0.30", Resource.ELECTRICITY)
        if resource is not Resource.ELECTRICITY:
            _tariff(connection, slot, rate, resource)
        others: dict[Resource, ResourceTariff] = (
            {resource: ResourceTariff(tariff_id=slot)}
            if billed and resource is not Resource.ELECTRICITY
            else {}
        )
        plan = PlanSettings(
            id=f"plan{n}",
            name="P",
            kind=PlanKind.POSTPAID,
            tariff_id=slot if resource is Resource.ELECTRICITY else f"e{n}",
            low_balance_minor=0,
            credit_limit_minor=0,
            reconnect_minimum_minor=0,
            billing_day=1,
            due_days=14,
            grace_days=0,
            quota=None,
            others=others,
        )
        if resource is Resource.ELECTRICITY:
            _tariff(connection, slot, rate, resource)
        ops.create_plan(connection, load_catalog(connection), ACTION, plan)
        catalog = load_catalog(connection)
        ops.create_tenant(
            connection, catalog, ACTION, tenant_id=tenant_id, name="T", plan_id=plan.id
        )
        ops.create_point(
            connection,
            load_catalog(connection),
            ACTION,
            point_id=point_id,
            name="P",
            space_id=None,
            resource=resource,
        )
        ops.move_in(
            connection,
            load_catalog(connection),
            ACTION,
            tenant_id=tenant_id,
            point_ids=[point_id],
            at_us=NOV_1 * 1_000_000,
        )
    return tenant_id, point_id


def _feed(
    engine: sa.Engine,
    point_id: str,
    resource: Resource,
    registers: list[tuple[int, int]],
    cuts: list[int],
) -> None:
    """Store and rate the readings in batches cut at ``cuts``, as messages would arrive."""
    unit = base_unit(resource)
    batch_ends = sorted({len(registers), *(cut % (len(registers) + 1) for cut in cuts)})
    start = 0
    for end in batch_ends:
        batch = [
            IncomingReading(point_id, ts, value, unit, None) for ts, value in registers[start:end]
        ]
        start = end
        with engine.begin() as connection:
            catalog = load_catalog(connection)
            result = store_readings(connection, batch, NOW_US, None)
            rate_points(connection, catalog, result.points, NOW_US)


def _posted(engine: sa.Engine, tenant_id: str) -> tuple[int, list[str]]:
    with engine.connect() as connection:
        account = tenant_account(tenant_id)
        balance = journal_store.balances(connection, [account])[account]
        reasons = (
            connection.execute(sa.select(journal.c.reason).where(journal.c.tenant_id == tenant_id))
            .scalars()
            .all()
        )
    return balance, list(reasons)


registers = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=3 * 86_400), st.integers(min_value=0, max_value=5_000)
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(
    resource=st.sampled_from(Resource),
    rate=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("9.9999"), places=4),
    steps=registers,
    cuts=st.lists(st.integers(min_value=0, max_value=30), max_size=4),
)
def test_posted_total_is_the_exact_usage_times_the_resources_rate_rounded_once(
    engine: sa.Engine,
    resource: Resource,
    rate: Decimal,
    steps: list[tuple[int, int]],
    cuts: list[int],
) -> None:
    tenant_id, point_id = _tenant_holding(engine, resource, str(rate))
    # Seconds apart to days apart (sparse meters), all inside November's billing period.
    ts, register, timeline = NOV_1 + 60, 1_000, []
    for gap, rise in steps:
        timeline.append((ts, register))
        ts, register = ts + gap, register + rise
    timeline.append((ts, register))
    assert ts < NOV_1 + 30 * 86_400
    _feed(engine, point_id, resource, timeline, cuts)
    usage = timeline[-1][1] - timeline[0][1]
    balance, reasons = _posted(engine, tenant_id)
    # Every billing unit is 1000 base units: the rate per kWh or m³ is per 1000 Wh or L.
    assert -balance == round_half_up(Fraction(usage) * Fraction(rate) / 1000 * 100)
    with engine.connect() as connection:
        periods = connection.execute(
            sa.select(rating_periods.c.resource, rating_periods.c.energy_wh).where(
                rating_periods.c.tenant_id == tenant_id
            )
        ).all()
    assert [tuple(row) for row in periods] == ([(resource.value, usage)] if usage else [])
    unit = base_unit(resource)
    assert sum(int(reason.removesuffix(f" {unit}")) for reason in reasons) <= usage
    assert all(reason.endswith(f" {unit}") for reason in reasons)


def test_water_read_once_a_day_is_billed_per_cubic_metre(engine: sa.Engine) -> None:
    """A pulse counter read once a day: 3 days, 1234 L, 417 L, 2001 L at 2.10 EUR/m³."""
    tenant_id, point_id = _tenant_holding(engine, Resource.WATER, "2.10")
    day = 86_400
    timeline = [(NOV_1 + 3600, 50_000), (NOV_1 + day + 3600, 51_234)]
    timeline += [(NOV_1 + 2 * day + 3600, 51_651), (NOV_1 + 3 * day + 3600, 53_652)]
    for reading in timeline:
        _feed(engine, point_id, Resource.WATER, [reading], [])
    balance, reasons = _posted(engine, tenant_id)
    # 1.234 m³ x 2.10 = 2.5914 -> 2.59; then 0.8757 (carry 0.0014 -> 0.88 after 2.5914+0.8757 =
    # 3.4671 -> 3.47 in total); then 4.2021: 7.6692 -> 7.67 in total.
    assert balance == -767
    assert reasons == ["1234 L", "417 L", "2001 L"]


def test_a_resource_the_plan_does_not_bill_posts_nothing(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    tenant_id, point_id = _tenant_holding(engine, Resource.GAS, "1.00", billed=False)
    _feed(
        engine,
        point_id,
        Resource.GAS,
        [(NOV_1 + 60, 0), (NOV_1 + 3600, 500), (NOV_1 + 7200, 900)],
        [1],
    )
    assert _posted(engine, tenant_id) == (0, [])
    said = [r.getMessage() for r in caplog.records if "not billed" in r.getMessage()]
    assert said == [
        f"tenant {tenant_id}'s plan plan{tenant_id[1:]} has no gas tariff: gas not billed"
    ]
