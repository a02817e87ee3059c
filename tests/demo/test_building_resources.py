"""The hostel's water counters and heat meter: whole litres and Wh, deterministic, and seeded
into a real ledger with their resource, tariffs and plan slots."""

import asyncio
from datetime import datetime
import itertools
from pathlib import Path
import secrets
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st

from tenant_sim.building import (
    HEAT_TARIFF_ID,
    HEAT_WH_PER_HOT_LITRE,
    HEATER_STANDBY_WH_PER_HOUR,
    HOT_WATER_PERCENT,
    TIMEZONE,
    WATER_TARIFF_ID,
    hostel,
)
from tenant_sim.clock import SimClock
from tenant_sim.history import hourly_readings
from tenant_sim.ledger_api import readings_body
from tenant_sim.ledger_process import LedgerProcess, building_args
from tenant_sim.registers import BuildingRegisters, MeterReading
from tenant_sim.seed import seed

BUILDING = hostel()
EXPECTED_LITRES = 124_110
EXPECTED_HEAT_WH = 4_542_528
OCTOBER = datetime(2026, 10, 1, tzinfo=ZoneInfo(TIMEZONE))
NOVEMBER = datetime(2026, 11, 1, tzinfo=ZoneInfo(TIMEZONE))


def _month_of_meter_readings() -> dict[str, list[MeterReading]]:
    registers = BuildingRegisters(BUILDING, int(OCTOBER.timestamp()), step_s=3600)
    found: dict[str, list[MeterReading]] = {}
    for batch in hourly_readings(registers, int(NOVEMBER.timestamp())):
        for reading in batch:
            if isinstance(reading, MeterReading):
                found.setdefault(reading.point_id, []).append(reading)
    return found


def test_a_month_of_water_and_heat_in_whole_litres_and_wh() -> None:
    readings = _month_of_meter_readings()
    hours = int(NOVEMBER.timestamp() - OCTOBER.timestamp()) // 3600
    used = {point: rs[-1].value - rs[0].value for point, rs in readings.items()}
    water = {m.point_id: m for m in BUILDING.water_meters}

    # Every let room has a counter (room 206 is vacant), each hour read.
    assert set(readings) == {*water, BUILDING.heat_meter.point_id}
    assert {len(rs) for rs in readings.values()} == {hours + 1}
    # Each counter's month is the sum of its profile's whole-litre hours, exactly.
    for point, meter in water.items():
        first = int(OCTOBER.timestamp())
        assert used[point] == sum(
            meter.profile.litres_in_hour(first + 3600 * h) for h in range(hours)
        )
        assert readings[point][0].key == "volume_l"
        assert readings[point][0].value == meter.start_l
    litres = sum(used[point] for point in water)
    assert used[BUILDING.heat_meter.point_id] == (
        litres * HOT_WATER_PERCENT * HEAT_WH_PER_HOT_LITRE // 100
        + HEATER_STANDBY_WH_PER_HOUR * hours
    )
    # The totals of this demo month, so a change to the profiles is a visible change here.
    assert (litres, used[BUILDING.heat_meter.point_id]) == (EXPECTED_LITRES, EXPECTED_HEAT_WH)
    # Registers never go back.
    for rs in readings.values():
        assert all(a.value <= b.value for a, b in itertools.pairwise(rs))


def test_the_readings_body_is_contract_version_2_with_each_resources_key() -> None:
    registers = BuildingRegisters(BUILDING, int(OCTOBER.timestamp()))
    body = readings_body(registers.all_readings())
    assert body["v"] == 2
    keys = {r["point"]: set(r) - {"point", "ts"} for r in body["readings"]}
    assert {keys[m.point_id] == {"volume_l"} for m in BUILDING.water_meters} == {True}
    assert keys[BUILDING.heat_meter.point_id] == {"energy_wh"}
    assert {keys[c.point_id] == {"energy_wh"} for c in BUILDING.circuits} == {True}


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2**33), st.integers(min_value=1, max_value=10**6))
def test_water_registers_are_whole_and_never_go_back(start: int, step: int) -> None:
    registers = BuildingRegisters(BUILDING, start, step_s=3600)
    meter = BUILDING.water_meters[0]
    before = registers.volume_l(meter), registers.heat_wh()
    registers.advance(start + step)
    after = registers.volume_l(meter), registers.heat_wh()
    assert all(isinstance(v, int) for v in (*before, *after))
    assert before[0] <= after[0]
    assert before[1] <= after[1]


async def test_seeding_creates_each_resources_points_tariffs_and_plan_slots(
    tmp_path: Path, socket_enabled: None
) -> None:
    ledger = LedgerProcess(
        tmp_path / "ledger",
        admin_token=secrets.token_urlsafe(24),
        args=building_args(),
        clock=SimClock(NOVEMBER),
    )
    await asyncio.to_thread(ledger.start)
    try:
        async with ledger.api() as api:
            await seed(api, BUILDING, move_in=OCTOBER)
            points = {p["id"]: p for p in (await api.call("GET", "/api/points"))["points"]}
            tariffs = {
                v["tariff_id"]: v["resource"]
                for v in (await api.call("GET", "/api/tariffs"))["versions"]
            }
            plans = (await api.call("GET", "/api/plans"))["plans"]
    finally:
        await asyncio.to_thread(ledger.stop)

    for meter in BUILDING.water_meters:
        assert points[meter.point_id]["resource"] == "water"
    heater = points[BUILDING.heat_meter.point_id]
    assert (heater["resource"], heater["kind"], heater["allocation"]) == (
        "heat",
        "common",
        "water_consumption",
    )
    assert {points[c.point_id]["resource"] for c in BUILDING.circuits} == {"electricity"}
    assert tariffs == {
        "hostel-tou": "electricity",
        WATER_TARIFF_ID: "water",
        HEAT_TARIFF_ID: "heat",
    }
    assert {p["id"]: p["resources"]["water"]["tariff_id"] for p in plans} == {
        p["id"]: WATER_TARIFF_ID for p in BUILDING.plans
    }
