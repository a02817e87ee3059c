"""Adopted HA energy sensors, the supply switch across sources, the energy dashboard."""

from collections.abc import Iterator
import json
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, CONF_NAME, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tenant_metering.const import (
    CONF_KIND,
    CONF_SENSOR,
    CONF_SWITCH,
    DOMAIN,
    KIND_ADOPTED,
)
from custom_components.tenant_metering.sources.adopted.point import AdoptedPoint
from tenant_sim.modbus_server import SimulatedModbusServer

from .common import (
    BASE,
    FULL_CHANNEL,
    announce,
    attributes_of,
    fire,
    published,
    setup_hub,
    state,
    state_of,
)
from .fake_ledger import FakeLedger
from .modbus_common import GATEWAY_UID, fast_bus, meter_subentry, setup_gateway, simulated, values
from .test_ledger_link import setup_ledger

READINGS = "tenant_metering/readings"
SENSOR = "sensor.shelly_room_7_energy"
SWITCH = "switch.shelly_room_7"


@pytest.fixture(autouse=True)
def _fast_bus() -> Iterator[None]:
    with fast_bus():
        yield


def _energy(hass: HomeAssistant, value: str, unit: str = "kWh", entity_id: str = SENSOR) -> None:
    hass.states.async_set(entity_id, value, {"device_class": "energy", "unit_of_measurement": unit})


@pytest.fixture
def shelly(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> er.RegistryEntry:
    return register_shelly(hass, entity_registry)


def register_shelly(hass: HomeAssistant, entity_registry: er.EntityRegistry) -> er.RegistryEntry:
    """A Shelly's energy sensor and relay, as their integration would register them."""
    entity_registry.async_get_or_create(
        "switch", "shelly", "room7-relay", suggested_object_id="shelly_room_7"
    )
    hass.states.async_set(SWITCH, "on")
    sensor = entity_registry.async_get_or_create(
        "sensor",
        "shelly",
        "room7-energy",
        suggested_object_id="shelly_room_7_energy",
        original_device_class="energy",
    )
    _energy(hass, "1.5")
    return sensor


async def _adopt(hass: HomeAssistant, user_input: dict[str, Any]) -> MockConfigEntry:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "adopted"}
    )
    assert result["step_id"] == "adopted"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: MockConfigEntry = result["result"]
    return entry


def _readings(mqtt_mock: MagicMock) -> list[dict[str, Any]]:
    return [
        reading
        for call in mqtt_mock.async_publish.call_args_list
        if call.args[0] == READINGS
        for reading in json.loads(call.args[1])["readings"]
    ]


async def test_adopt_flow_and_exact_readings(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    shelly: er.RegistryEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    entry = await _adopt(hass, {CONF_SENSOR: SENSOR, CONF_NAME: "Room 7", CONF_SWITCH: SWITCH})
    switch = er.async_get(hass).async_get(SWITCH)
    assert switch is not None
    assert entry.title == "Room 7"
    assert entry.unique_id == f"ha_{shelly.id}"
    assert entry.data == {CONF_KIND: KIND_ADOPTED, CONF_SENSOR: shelly.id, CONF_SWITCH: switch.id}
    point = f"ha:{shelly.id}"

    for value, unit in (
        ("1234.567", "kWh"),
        ("unavailable", "kWh"),
        ("unknown", "kWh"),
        ("1.234568", "MWh"),
        ("1234568.5", "Wh"),  # half a Wh rounds up
        ("12.3", "kWh"),  # a decrease (meter replaced) is published; the ledger resets
        ("13", "W"),  # not an energy unit: skipped
    ):
        mqtt_mock.async_publish.reset_mock()
        freezer.tick(1)  # the ledger keys readings by (point, ts in seconds)
        _energy(hass, value, unit)
        await hass.async_block_till_done()
        readings = _readings(mqtt_mock)
        expected = {
            "1234.567": 1_234_567,
            "1.234568": 1_234_568,
            "1234568.5": 1_234_569,
            "12.3": 12_300,
        }.get(value)
        if expected is None:
            assert readings == [], value
            continue
        assert readings == [
            {"point": point, "ts": int(dt_util.utcnow().timestamp()), "energy_wh": expected}
        ], value


async def test_adopted_point_survives_a_rename(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    freezer: FrozenDateTimeFactory,
    shelly: er.RegistryEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    entry = await _adopt(hass, {CONF_SENSOR: SENSOR})
    assert entry.title == "shelly room 7 energy"  # the state's name, no friendly name set
    entity_registry.async_update_entity(SENSOR, new_entity_id="sensor.room_7_energy")
    await hass.async_block_till_done()
    mqtt_mock.async_publish.reset_mock()
    hass.states.async_remove(SENSOR)
    freezer.tick(1)
    _energy(hass, "2.000", entity_id="sensor.room_7_energy")
    await hass.async_block_till_done()
    readings = _readings(mqtt_mock)
    assert readings
    assert {r["point"] for r in readings} == {f"ha:{shelly.id}"}
    assert readings[-1]["energy_wh"] == 2000
    runtime = entry.runtime_data
    assert isinstance(runtime, AdoptedPoint)
    assert runtime.entity_id == "sensor.room_7_energy"


async def test_sensor_without_unique_id_cannot_be_adopted(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    _energy(hass, "1.0", entity_id="sensor.template_energy")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "adopted"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SENSOR: "sensor.template_energy"}
    )
    assert result["errors"] == {CONF_SENSOR: "not_registered"}


async def test_reconfigure_adopted_point(
    hass: HomeAssistant, mqtt_mock: MagicMock, shelly: er.RegistryEntry
) -> None:
    entry = await _adopt(hass, {CONF_SENSOR: SENSOR, CONF_SWITCH: SWITCH})
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    assert result["step_id"] == "reconfigure_adopted"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Room 7 (Shelly)"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.title == "Room 7 (Shelly)"
    assert CONF_SWITCH not in entry.data
    assert entry.data[CONF_SENSOR] == shelly.id


@pytest.mark.parametrize("modbus_slave_ids", [[2]])
async def test_supply_switch_fans_out_across_mqtt_modbus_and_adopted_points(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    modbus_server: SimulatedModbusServer,
    shelly: er.RegistryEntry,
) -> None:
    fake_ledger.tenants["t101"]["points"] = [
        f"modbus:{GATEWAY_UID}:2:1",
        f"ha:{shelly.id}",
        "mqtt:a4cf12ab34cd:1",
    ]
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    prepaid = simulated(modbus_server, "generic_prepaid_relay", 2)
    prepaid.set_channel("1", values(0))
    await setup_gateway(hass, modbus_server, [meter_subentry(2, "generic_prepaid_relay", "R2")])
    await _adopt(hass, {CONF_SENSOR: SENSOR, CONF_SWITCH: SWITCH})
    await setup_ledger(hass, fake_ledger)

    supply = "switch.room_101_supply"
    assert attributes_of(hass, supply)["relays"] == [
        "switch.r2_1_relay",
        SWITCH,
        "switch.room_201_relay",
    ]
    assert state_of(hass, supply) == "on"
    call = hass.async_create_task(
        hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: supply}, blocking=True
        )
    )
    (command,) = await published(mqtt_mock, f"{BASE}/command")
    assert (command["channel"], command["relay"]) == ("1", "off")
    fire(hass, f"{BASE}/ack", {"id": command["id"], "ok": True, "relay": "off"})
    await call
    await hass.async_block_till_done()
    assert prepaid.relay("1") is False
    assert state_of(hass, "switch.r2_1_relay") == "off"
    assert state_of(hass, "switch.room_201_relay") == "off"
