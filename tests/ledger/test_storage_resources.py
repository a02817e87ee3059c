"""Revision 0013: a resource on points, tariffs, plans and rating periods.

What was there before measures electricity."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tenant_ledger.db import engine as db_engine
from tenant_ledger.db.schema import (
    metering_points,
    plan_tariffs,
    quarantined_readings,
    rating_periods,
    tariffs,
)

from . import legacy
from .storage_fixtures import KEY, engine_on_both_databases  # noqa: F401 (the engine fixture)


def _rating_period(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO rating_periods (tenant_id, period_start_us, energy_wh, posted_minor, "
            "carry) VALUES ('t1', 1000, 4321, 130, '0.0063')"
        )
        connection.exec_driver_sql(
            "INSERT INTO quarantined_readings (point_id, ts, energy_wh, reason, detail, "
            "received_at_us) VALUES ('p1', 5, 10, 'future', 'd', 0)"
        )


def test_existing_points_tariffs_and_rating_periods_become_electricity(engine: sa.Engine) -> None:
    db_engine.upgrade(engine, "0012")
    legacy.building(engine)
    _rating_period(engine)
    db_engine.upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(sa.select(metering_points.c.resource)).scalars().all() == [
            "electricity"
        ]
        assert connection.execute(sa.select(tariffs.c.resource)).scalars().all() == ["electricity"]
        period = connection.execute(sa.select(rating_periods)).one()
        assert connection.execute(sa.select(quarantined_readings.c.unit)).scalar() == "Wh"
    assert tuple(period) == ("t1", "electricity", 1000, 4321, 130, "0.0063")
    # Down again: the electricity period is what the older ledger knows, and it stays.
    with engine.begin() as connection:
        connection.execute(
            rating_periods.insert().values(
                tenant_id="t1",
                resource="water",
                period_start_us=1000,
                energy_wh=5,
                posted_minor=1,
                carry="0",
            )
        )
    db_engine.downgrade(engine, "0012")
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT tenant_id, period_start_us, energy_wh, posted_minor, carry FROM rating_periods"
        ).all()
    assert [tuple(row) for row in rows] == [("t1", 1000, 4321, 130, "0.0063")]


def test_the_database_refuses_a_tariff_of_another_resource_in_a_plan_slot(
    engine: sa.Engine,
) -> None:
    db_engine.upgrade(engine)
    legacy.building(engine)
    with engine.begin() as connection:
        connection.execute(
            tariffs.insert().values(id="cold", name="Cold water", currency="EUR", resource="water")
        )
        connection.execute(
            plan_tariffs.insert().values(plan_id="main", resource="water", tariff_id="cold")
        )
    for resource, tariff_id in (("gas", "cold"), ("heat", "std"), ("electricity", "std")):
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(
                plan_tariffs.insert().values(plan_id="main", resource=resource, tariff_id=tariff_id)
            )


@pytest.mark.parametrize(
    ("table", "values"),
    [
        (metering_points, {"id": "p2", "name": "P", "created_at_us": 0, "resource": "steam"}),
        (tariffs, {"id": "x", "name": "X", "currency": "EUR", "resource": "Water"}),
    ],
)
def test_the_database_refuses_an_unknown_resource(
    engine: sa.Engine, table: sa.Table, values: dict[str, object]
) -> None:
    db_engine.upgrade(engine)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(table.insert().values(**values))


@pytest.mark.parametrize(
    ("table", "values", "named"),
    [
        (
            metering_points,
            {"id": "w1", "name": "W", "created_at_us": 0, "resource": "water"},
            "metering point w1 (water)",
        ),
        (
            tariffs,
            {"id": "heat", "name": "Heat", "currency": "EUR", "resource": "heat"},
            "tariff heat (heat)",
        ),
    ],
)
def test_going_below_0013_is_refused_while_anything_measures_another_resource(
    engine: sa.Engine, table: sa.Table, values: dict[str, object], named: str
) -> None:
    db_engine.upgrade(engine)
    legacy.building(engine)
    with engine.begin() as connection:
        connection.execute(table.insert().values(**values))
        newest = _revision(connection)
    # The older ledger would read it as electricity (a water point with 6000 W, litres as Wh).
    with pytest.raises(RuntimeError) as refused:
        db_engine.downgrade(engine, "0012")
    assert str(refused.value) == (
        f"cannot go below revision 0013: {named} would become electricity; "
        "downgrade a ledger that measures electricity only"
    )
    # Nothing changed: still at the newest revision, the point and tariff as they were.
    with engine.connect() as connection:
        stored = connection.execute(sa.select(table.c.resource).where(table.c.id == values["id"]))
        assert stored.scalar() == values["resource"]
        assert _revision(connection) == newest


def _revision(connection: sa.Connection) -> object:
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
