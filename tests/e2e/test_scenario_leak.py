"""A leak at night: simulated water meters → real ledger → real broker → HA sensor → blueprint.

The ledger subprocess judges the night when the morning's readings arrive, publishes the
point's leak state retained, the integration's moisture sensor turns on, `tenant_metering_leak`
fires once and the leak_alarm blueprint tells the landlord. The neighbour's ordinary night
raises nothing.
"""

from datetime import UTC, datetime
import time

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from tenant_sim.water_nights import WaterNight

from .harness import Blueprints, Ledger, state, until

pytestmark = pytest.mark.slow

LEAKY, DRY = "water:flat1", "water:flat2"
LEAKY_SENSOR = "binary_sensor.tenant_metering_ledger_leak_water_flat1"
DRY_SENSOR = "binary_sensor.tenant_metering_ledger_leak_water_flat2"
WATCH = {"window_start": "23:00", "window_end": "05:00", "minimum_per_hour": 4}


async def test_a_leak_at_night_reaches_the_landlord_through_home_assistant(
    hass: HomeAssistant, ledger: Ledger, metering: None, blueprints: Blueprints
) -> None:
    for point in (LEAKY, DRY):
        water = {"id": point, "name": point, "resource": "water"}
        await ledger.call("POST", "/api/points", water, expect=201)
        await ledger.call("PUT", f"/api/points/{point}/leak-watch", WATCH)
    await until(lambda: state(hass, LEAKY_SENSOR) == "off", "the leak sensor")
    await until(lambda: state(hass, DRY_SENSOR) == "off", "the neighbour's leak sensor")
    config = {
        "alias": "leak",
        "use_blueprint": {
            "path": "tenant_metering/leak_alarm.yaml",
            "input": {"notify_service": "notify.landlord"},
        },
    }
    assert await async_setup_component(hass, "automation", {"automation": config})
    await hass.async_block_till_done()

    # The ledger's clock says 10 June 10:00 (UTC): last night's readings, 21:00 to 07:00.
    nine_pm = int(datetime(2026, 6, 9, 21, tzinfo=UTC).timestamp())
    nights = {
        LEAKY: WaterNight(start_ts=nine_pm, leak_l_per_hour=5, seed=4),
        DRY: WaterNight(start_ts=nine_pm, seed=4),
    }
    sent = time.monotonic()
    for point, night in nights.items():
        readings = [
            {"point": point, "ts": ts, "volume_l": litres} for ts, litres in night.readings()
        ]
        await ledger.call("POST", "/api/readings", {"v": 2, "readings": readings})
    await until(lambda: state(hass, LEAKY_SENSOR) == "on", "the leak alarm in HA", 10)
    latency = time.monotonic() - sent
    await until(lambda: len(blueprints.landlord) >= 1, "the landlord's message")
    assert blueprints.landlord[0].data["title"].startswith("Possible leak")
    assert "water:flat1" in blueprints.landlord[0].data["message"]
    assert state(hass, DRY_SENSOR) == "off"
    assert latency < 10

    alarm = (await ledger.call("GET", "/api/leak-alarms"))["alarms"][0]
    await ledger.call("POST", f"/api/leak-alarms/{alarm['id']}/acknowledge", {"reason": "fixed"})
    await until(lambda: state(hass, LEAKY_SENSOR) == "off", "the acknowledged alarm")
    assert len(blueprints.landlord) == 1
