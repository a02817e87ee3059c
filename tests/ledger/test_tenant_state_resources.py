"""The tenant state per resource: usage, charges and quota of water beside electricity.

Real SQLite files, the real rater and ``tenant_state.evaluate``: the published ``resources``
map carries each resource the plan bills or the tenant holds a point of, in its billing unit,
exactly (decimal strings from integer storage), while the electricity fields stay as they were.
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
from tenant_ledger.billing import PlanKind, Quota, round_half_up
from tenant_ledger.billing.resources import Resource, base_unit
from tenant_ledger.db import engine as db_engine
from tenant_ledger.db.audit import Action
from tenant_ledger.db.catalog import PlanSettings, ResourceTariff, create_site, load_catalog
from tenant_ledger.db.readings_store import store_readings
from tenant_ledger.db.schema import tenant_status
from tenant_ledger.rater import rate_points
from tenant_ledger.readings_in import IncomingReading
from tenant_ledger.tenant_state import evaluate, evaluate_and_record

KEY = ledger_key.generate(dict.fromkeys(ledger_key.SERIES, 1), dict.fromkeys(ledger_key.SERIES, 0))
NOV_1 = 1_793_487_600  # 2026-11-01 00:00 Europe/Berlin
NOW_US = (NOV_1 + 20 * 86_400) * 1_000_000  # 21 November: one billing period
ACTION = Action(actor="test", reason="setup", now_us=NOW_US)
_IDS = itertools.count()


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    path: Path = tmp_path_factory.mktemp("state")
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


def _tenant(
    engine: sa.Engine,
    points: dict[str, Resource],
    water: ResourceTariff | None,
    power_cap: int | None = None,
) -> str:
    """A new postpaid tenant billed electricity at 0.30/kWh (``power_cap``: a hard-capped
    allowance of that many Wh) and, with ``water``, water too, holding ``points`` from 1
    November."""
    n = next(_IDS)
    tenant_id = f"t{n}"
    with engine.begin() as connection:
        _tariff(connection, f"e{n}", "0.30", Resource.ELECTRICITY)
        if water is not None:
            _tariff(connection, water.tariff_id, "2.50", Resource.WATER)
        plan = PlanSettings(
            id=f"plan{n}",
            name="P",
            kind=PlanKind.POSTPAID,
            tariff_id=f"e{n}",
            low_balance_minor=0,
            credit_limit_minor=0,
            reconnect_minimum_minor=0,
            billing_day=1,
            due_days=14,
            grace_days=0,
            quota=None if power_cap is None else Quota(included_wh=power_cap),
            others={} if water is None else {Resource.WATER: water},
        )
        ops.create_plan(connection, load_catalog(connection), ACTION, plan)
        ops.create_tenant(
            connection, load_catalog(connection), ACTION, tenant_id=tenant_id, name="T",
            plan_id=plan.id,
        )  # fmt: skip
        for point_id, resource in points.items():
            ops.create_point(
                connection, load_catalog(connection), ACTION, point_id=f"{point_id}{n}",
                name="P", space_id=None, resource=resource,
            )  # fmt: skip
        ops.move_in(
            connection, load_catalog(connection), ACTION, tenant_id=tenant_id,
            point_ids=[f"{point_id}{n}" for point_id in points], at_us=NOV_1 * 1_000_000,
        )  # fmt: skip
    return tenant_id


def _feed(engine: sa.Engine, point_id: str, resource: Resource, used: int) -> None:
    """Two readings of the point on 2 November, ``used`` base units apart, rated."""
    unit = base_unit(resource)
    day = NOV_1 + 86_400
    batch = [
        IncomingReading(point_id, day, 1_000, unit, None),
        IncomingReading(point_id, day + 3_600, 1_000 + used, unit, None),
    ]
    with engine.begin() as connection:
        catalog = load_catalog(connection)
        result = store_readings(connection, batch, NOW_US, None)
        rate_points(connection, catalog, result.points, NOW_US)


def _state(engine: sa.Engine, tenant_id: str) -> dict[str, object]:
    with engine.connect() as connection:
        return evaluate(connection, load_catalog(connection), tenant_id, NOW_US).payload


def _n(tenant_id: str) -> str:
    return tenant_id.removeprefix("t")


def test_water_usage_and_quota_are_published_beside_the_unchanged_electricity_fields(
    engine: sa.Engine,
) -> None:
    water = ResourceTariff(tariff_id=f"w{next(_IDS)}", quota=Quota(included_wh=5_000))
    tenant_id = _tenant(engine, {"e": Resource.ELECTRICITY, "w": Resource.WATER}, water)
    n = _n(tenant_id)
    _feed(engine, f"e{n}", Resource.ELECTRICITY, 2_500)  # 2.5 kWh at 0.30: 0.75
    _feed(engine, f"w{n}", Resource.WATER, 7_234)  # 7.234 m³, 5 m³ free, 2.234 m³ at 2.50
    state = _state(engine, tenant_id)
    assert (state["period_energy_kwh"], state["period_cost"]) == ("2.500", "0.75")
    assert (state["quota_kwh"], state["quota_remaining_kwh"]) == (None, None)
    assert state["resources"] == {
        "electricity": {
            "unit": "kWh", "billed": True, "period_usage": "2.500", "period_cost": "0.75",
            "quota": None, "quota_remaining": None, "quota_exhausted": None,
        },
        "water": {
            "unit": "m³", "billed": True, "period_usage": "7.234", "period_cost": "5.59",
            "quota": "5.000", "quota_remaining": "0.000", "quota_exhausted": True,
        },
    }  # fmt: skip


def test_a_water_point_the_plan_does_not_bill_is_shown_unbilled(engine: sa.Engine) -> None:
    tenant_id = _tenant(engine, {"w": Resource.WATER}, None)
    _feed(engine, f"w{_n(tenant_id)}", Resource.WATER, 1_500)
    water = _state(engine, tenant_id)["resources"]["water"]  # type: ignore[index]
    # Not rated without a tariff: nothing used or charged in the period's position.
    assert water == {
        "unit": "m³", "billed": False, "period_usage": "0.000", "period_cost": "0.00",
        "quota": None, "quota_remaining": None, "quota_exhausted": None,
    }  # fmt: skip


def test_a_water_slot_without_points_or_usage_is_published_at_zero(engine: sa.Engine) -> None:
    water = ResourceTariff(tariff_id=f"w{next(_IDS)}", quota=Quota(included_wh=3_000))
    tenant_id = _tenant(engine, {"e": Resource.ELECTRICITY}, water)
    resources = _state(engine, tenant_id)["resources"]
    assert list(resources) == ["electricity", "water"]  # type: ignore[call-overload]
    assert resources["water"]["quota_remaining"] == "3.000"  # type: ignore[index]


@settings(max_examples=12, deadline=None)
@given(
    # Within an hour's plausible water flow (6000 L/h): the two readings are an hour apart.
    used=st.integers(min_value=0, max_value=6_000),
    included=st.integers(min_value=0, max_value=10**12),
)
def test_water_figures_are_the_exact_integer_litres_in_cubic_metres(
    engine: sa.Engine, used: int, included: int
) -> None:
    water = ResourceTariff(tariff_id=f"w{next(_IDS)}", quota=Quota(included_wh=included))
    tenant_id = _tenant(engine, {"w": Resource.WATER}, water)
    _feed(engine, f"w{_n(tenant_id)}", Resource.WATER, used)
    figures = _state(engine, tenant_id)["resources"]["water"]  # type: ignore[index]
    assert Decimal(figures["period_usage"]) * 1000 == used
    assert Decimal(figures["quota"]) * 1000 == included
    assert Decimal(figures["quota_remaining"]) * 1000 == max(0, included - used)
    assert figures["quota_exhausted"] is (used >= included)
    cents = round_half_up(Fraction(max(0, used - included), 1000) * 250)  # 2.50 per m³
    assert Decimal(figures["period_cost"]) * 100 == cents


def test_water_used_this_period_stays_in_the_state_after_a_move_and_a_plan_change(
    engine: sa.Engine,
) -> None:
    water = ResourceTariff(tariff_id=f"w{next(_IDS)}")
    tenant_id = _tenant(engine, {"w": Resource.WATER}, water)
    _feed(engine, f"w{_n(tenant_id)}", Resource.WATER, 1_500)  # 1.5 m³ at 2.50
    electricity_only = _tenant(engine, {"e": Resource.ELECTRICITY}, None)
    with engine.begin() as connection:
        ops.move_out(
            connection, load_catalog(connection), ACTION, tenant_id=tenant_id, at_us=NOW_US - 1
        )
        ops.change_plan(
            connection, load_catalog(connection), ACTION, tenant_id=tenant_id,
            plan_id=f"plan{_n(electricity_only)}",
        )  # fmt: skip
    water_figures = _state(engine, tenant_id)["resources"]["water"]  # type: ignore[index]
    assert water_figures == {
        "unit": "m³", "billed": False, "period_usage": "1.500", "period_cost": "3.75",
        "quota": None, "quota_remaining": None, "quota_exhausted": None,
    }  # fmt: skip


def test_a_used_up_water_cap_is_flagged_and_named_but_never_cuts_the_electricity(
    engine: sa.Engine,
) -> None:
    # A hard cap of 5 m³ (no overage price), 5.200 m³ used; electricity has no quota.
    water = ResourceTariff(tariff_id=f"w{next(_IDS)}", quota=Quota(included_wh=5_000))
    tenant_id = _tenant(engine, {"e": Resource.ELECTRICITY, "w": Resource.WATER}, water)
    n = _n(tenant_id)
    _feed(engine, f"e{n}", Resource.ELECTRICITY, 2_500)
    _feed(engine, f"w{n}", Resource.WATER, 5_200)
    state = _state(engine, tenant_id)
    assert (state["status"], state["status_reason"]) == (
        "ok",
        "no bill overdue; water allowance of 5.000 m³ used up",
    )
    assert state["supply_action"] == "none"
    resources = state["resources"]
    assert resources["water"]["quota_exhausted"] is True  # type: ignore[index]
    assert resources["water"]["quota_remaining"] == "0.000"  # type: ignore[index]
    assert resources["electricity"]["quota_exhausted"] is None  # type: ignore[index]


def test_the_electricity_cap_still_makes_quota_exhausted_beside_an_unused_water_cap(
    engine: sa.Engine,
) -> None:
    water = ResourceTariff(tariff_id=f"w{next(_IDS)}", quota=Quota(included_wh=5_000))
    tenant_id = _tenant(
        engine, {"e": Resource.ELECTRICITY, "w": Resource.WATER}, water, power_cap=2_000
    )
    n = _n(tenant_id)
    _feed(engine, f"e{n}", Resource.ELECTRICITY, 2_500)
    _feed(engine, f"w{n}", Resource.WATER, 4_999)
    state = _state(engine, tenant_id)
    assert (state["status"], state["status_reason"]) == (
        "quota_exhausted",
        "allowance of 2.000 kWh used up",
    )
    resources = state["resources"]
    assert resources["electricity"]["quota_exhausted"] is True  # type: ignore[index]
    assert resources["water"]["quota_exhausted"] is False  # type: ignore[index]
    assert resources["water"]["quota_remaining"] == "0.001"  # type: ignore[index]


def test_a_water_allowance_with_an_overage_price_is_flagged_but_not_in_the_reason(
    engine: sa.Engine,
) -> None:
    water = ResourceTariff(
        tariff_id=f"w{next(_IDS)}", quota=Quota(included_wh=1_000, overage_rate=Decimal("4.00"))
    )
    tenant_id = _tenant(engine, {"w": Resource.WATER}, water)
    _feed(engine, f"w{_n(tenant_id)}", Resource.WATER, 1_250)  # 0.250 m³ over at 4.00: 1.00
    state = _state(engine, tenant_id)
    assert (state["status"], state["status_reason"]) == ("ok", "no bill overdue")
    water_figures = state["resources"]["water"]  # type: ignore[index]
    assert (water_figures["quota_exhausted"], water_figures["period_cost"]) == (True, "1.00")


def test_a_tenant_named_twice_in_one_pass_is_judged_and_recorded_once(engine: sa.Engine) -> None:
    """The second mention would be judged on the facts read before the first was recorded (no
    status yet) and insert its status a second time."""
    tenant_id = _tenant(engine, {"e": Resource.ELECTRICITY}, None)
    with engine.begin() as connection:
        catalog = load_catalog(connection)
        views = evaluate_and_record(connection, catalog, [tenant_id, tenant_id], NOW_US)
    assert [view.tenant_id for view in views] == [tenant_id]
    assert views[0].first_status
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(tenant_status.c.status).where(tenant_status.c.tenant_id == tenant_id)
        ).all()
    assert stored == [(views[0].status.state.value,)]
