"""The register_energy_devices service: every channel into the energy dashboard."""

from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

from homeassistant.components.energy.data import async_get_manager
from homeassistant.components.recorder.core import Recorder
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest

from custom_components.tenant_metering.const import CONF_RESOURCE, CONF_SENSOR, DOMAIN
from custom_components.tenant_metering.energy import supports_device_consumption_water
from tenant_sim.modbus_server import SimulatedModbusServer

from .common import BASE, FULL_CHANNEL, announce, fire, setup_hub, state
from .modbus_common import fast_bus, meter_subentry, setup_gateway, simulated, values
from .test_adopted import SENSOR, _adopt, register_shelly


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder (energy needs it) must start before ``hass``."""


@pytest.fixture(autouse=True)
def _fast_bus() -> Iterator[None]:
    with fast_bus():
        yield


@pytest.mark.parametrize("modbus_slave_ids", [[1]])
async def test_register_energy_devices_writes_preferences(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    entity_registry: er.EntityRegistry,
) -> None:
    register_shelly(hass, entity_registry)
    assert await async_setup_component(hass, "energy", {})
    meter = simulated(modbus_server, "generic_multi_circuit", 1, channel_count=4)
    for index, channel_id in enumerate(meter.channels):
        meter.set_channel(channel_id, values(index))
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL, "2": FULL_CHANNEL}))
    await hass.async_block_till_done()
    await setup_gateway(
        hass,
        modbus_server,
        [
            meter_subentry(
                1,
                "generic_multi_circuit",
                "DB",
                channel_count=4,
                channels={"4": {"name": "Incomer", "role": "incomer", "rated_current_a": 63}},
            )
        ],
    )
    await _adopt(hass, {CONF_SENSOR: SENSOR, CONF_NAME: "Room 7"})

    response = await hass.services.async_call(
        DOMAIN, "register_energy_devices", {}, blocking=True, return_response=True
    )
    manager = await async_get_manager(hass)
    assert manager.data is not None
    prefs: dict[str, dict[str, Any]] = {
        d["stat_consumption"]: dict(d) for d in manager.data["device_consumption"]
    }
    expected = {
        "sensor.incomer_energy",
        "sensor.room_201_energy",
        "sensor.room_202_energy",
        "sensor.db_1_energy",
        "sensor.db_2_energy",
        "sensor.db_3_energy",
        SENSOR,
    }
    assert set(prefs) == expected
    assert response == {"added": list(prefs), "grid": "sensor.incomer_energy", "backfilled": {}}
    assert "included_in_stat" not in prefs["sensor.incomer_energy"]
    # The building has one incomer: every other channel, whatever its source (its own
    # gateway's, the breakers', the adopted plug), is downstream of it, so none counts twice.
    downstream = expected - {"sensor.incomer_energy"}
    assert {prefs[stat].get("included_in_stat") for stat in downstream} == {"sensor.incomer_energy"}
    assert next(iter(prefs)) == "sensor.incomer_energy"
    assert prefs[SENSOR]["name"] == "Room 7"
    # No grid source yet: the incomer is the building's grid consumption.
    assert [source["type"] for source in manager.data["energy_sources"]] == ["grid"]
    assert "sensor.incomer_energy" in repr(manager.data["energy_sources"])

    again = await hass.services.async_call(
        DOMAIN, "register_energy_devices", {}, blocking=True, return_response=True
    )
    assert again == {"added": [], "grid": None, "backfilled": {}}


async def test_adopted_water_and_heat_meters_in_the_energy_dashboard(
    hass: HomeAssistant, mqtt_mock: MagicMock, entity_registry: er.EntityRegistry
) -> None:
    """An adopted water meter becomes water consumption (HA's own shape); a heat meter's
    energy sensor stays out, so it is never counted as electricity."""
    assert await async_setup_component(hass, "energy", {})
    water = "sensor.room_7_cold_water"
    heat = "sensor.hot_water_heat_meter_energy"
    for entity_id, device_class, unit in ((water, "water", "m³"), (heat, "energy", "MWh")):
        entity_registry.async_get_or_create(
            "sensor", "pulse_counter", entity_id, suggested_object_id=entity_id[7:]
        )
        hass.states.async_set(
            entity_id,
            "1.5",
            {
                "device_class": device_class,
                "state_class": "total_increasing",
                "unit_of_measurement": unit,
            },
        )
    await _adopt(hass, {CONF_SENSOR: water, CONF_NAME: "Room 7 water"})
    await _adopt(hass, {CONF_SENSOR: heat, CONF_RESOURCE: "heat"})

    response = await hass.services.async_call(
        DOMAIN, "register_energy_devices", {}, blocking=True, return_response=True
    )
    assert response == {"added": [water], "grid": None, "backfilled": {}}
    manager = await async_get_manager(hass)
    assert manager.data is not None
    assert manager.data["device_consumption"] == []
    if supports_device_consumption_water():
        assert manager.data["device_consumption_water"] == [  # type: ignore[typeddict-item]
            {"stat_consumption": water, "name": "Room 7 water"}
        ]
    else:
        assert [(s["type"], s.get("stat_energy_from")) for s in manager.data["energy_sources"]] == [
            ("water", water)
        ]
