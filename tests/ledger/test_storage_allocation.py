"""Revision 0015: a common point may be shared by the tenants' water use (``water_consumption``).

The allocations stored before stay as they were, and the database still refuses an unknown one.
"""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from tenant_ledger.db import engine as db_engine

from .storage_fixtures import KEY, engine_on_both_databases  # noqa: F401 (the engine fixture)

BEFORE = {"corridor": "consumption", "lift": "floor_area", "pump": "equal", "room": None}


def _point(engine: sa.Engine, point_id: str, allocation: str | None, resource: str) -> None:
    kind = "tenant" if allocation is None else "common"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO metering_points (id, name, created_at_us, kind, allocation, "
                "tariff_id, resource) VALUES (:id, :id, 0, :kind, :allocation, NULL, :resource)"
            ),
            {"id": point_id, "kind": kind, "allocation": allocation, "resource": resource},
        )


def _allocations(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT id, allocation FROM metering_points")
        return dict(rows.tuples().all())


def test_water_consumption_is_accepted_and_existing_allocations_are_kept(
    engine: sa.Engine,
) -> None:
    db_engine.upgrade(engine, "0014")
    for point_id, allocation in BEFORE.items():
        _point(engine, point_id, allocation, "electricity")
    # Before: the database refuses the method (reproduces the missing choice).
    with pytest.raises((IntegrityError, StatementError)):
        _point(engine, "hot-water", "water_consumption", "heat")
    db_engine.upgrade(engine)
    assert _allocations(engine) == BEFORE
    _point(engine, "hot-water", "water_consumption", "heat")
    assert _allocations(engine) == BEFORE | {"hot-water": "water_consumption"}
    with pytest.raises(IntegrityError):
        _point(engine, "boiler", "water", "heat")
    # Down again: the older ledger knows no water split; the nearest it knows is consumption.
    db_engine.downgrade(engine, "0014")
    assert _allocations(engine) == BEFORE | {"hot-water": "consumption"}
    with pytest.raises((IntegrityError, StatementError)):
        _point(engine, "boiler", "water_consumption", "heat")
