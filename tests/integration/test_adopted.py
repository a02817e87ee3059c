"""Adopted HA energy sensors, the supply switch across sources, the energy dashboard."""

from collections.abc import Iterator
import json
from typing import Any
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, CONF_NAME, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tenant_metering.const import (
    CONF_KIND,
    CONF_RESOURCE,
    CONF_SENSOR,
    CONF_SWITCH,
    DOMAIN,
    KIND_ADOPTED,
)
from custom_components.tenant_metering.ledger_link.backfill import energy_sensor_of_point
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
    hass.states.async_set(
        entity_id,
        value,
        {"device_class": "energy", "state_class": "total_increasing", "unit_of_measurement": unit},
    )


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
    assert entry.data == {
        CONF_KIND: KIND_ADOPTED,
        CONF_SENSOR: shelly.id,
        CONF_RESOURCE: "electricity",
        CONF_SWITCH: switch.id,
    }
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


WATER = "sensor.room_7_cold_water"


def _register_meter(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    entity_id: str,
    attributes: dict[str, str],
    value: str,
) -> er.RegistryEntry:
    platform, object_id = "pulse_counter", entity_id.removeprefix("sensor.")
    sensor = entity_registry.async_get_or_create(
        "sensor",
        platform,
        object_id,
        suggested_object_id=object_id,
        original_device_class=attributes.get("device_class"),
    )
    hass.states.async_set(entity_id, value, attributes)
    return sensor


def _meter_attributes(
    device_class: str, unit: str, state_class: str = "total_increasing"
) -> dict[str, str]:
    return {"device_class": device_class, "state_class": state_class, "unit_of_measurement": unit}


async def test_a_water_meter_publishes_exact_litres(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    meter = _register_meter(
        hass, entity_registry, WATER, _meter_attributes("water", "m³"), "12.3456"
    )
    entry = await _adopt(hass, {CONF_SENSOR: WATER, CONF_NAME: "Room 7 water"})
    assert entry.data[CONF_RESOURCE] == "water"
    point = f"ha:{meter.id}"
    # The state at adoption: 12.3456 m³ is 12 345.6 L, rounded half up once.
    assert _readings(mqtt_mock) == [
        {"point": point, "ts": int(dt_util.utcnow().timestamp()), "volume_l": 12_346}
    ]
    for value, unit, litres in (
        ("12.5", "m³", 12_500),
        ("3400", "gal", 12_870),  # 12 870.4 L
        ("460", "ft³", 13_026),  # 13 025.749 L
        ("13100", "L", 13_100),
        ("1.2", "kWh", None),  # an energy unit on a water meter: skipped, not guessed
    ):
        mqtt_mock.async_publish.reset_mock()
        freezer.tick(1)
        hass.states.async_set(WATER, value, _meter_attributes("water", unit))
        await hass.async_block_till_done()
        expected = (
            []
            if litres is None
            else [{"point": point, "ts": int(dt_util.utcnow().timestamp()), "volume_l": litres}]
        )
        assert _readings(mqtt_mock) == expected, value


async def test_an_energy_sensor_adopted_as_heat(
    hass: HomeAssistant, mqtt_mock: MagicMock, entity_registry: er.EntityRegistry
) -> None:
    heat = "sensor.hot_water_heat_meter_energy"
    _register_meter(hass, entity_registry, heat, _meter_attributes("energy", "GJ"), "1.5")
    entry = await _adopt(hass, {CONF_SENSOR: heat, CONF_RESOURCE: "heat"})
    assert entry.data[CONF_RESOURCE] == "heat"
    runtime = entry.runtime_data
    assert isinstance(runtime, AdoptedPoint)
    assert runtime.resource == "heat"
    # 1.5 GJ = 416 666.67 Wh
    assert [r["energy_wh"] for r in _readings(mqtt_mock)] == [416_667]
    assert runtime.diagnostics()["adopted"]["resource"] == "heat"


@pytest.mark.parametrize(
    ("attributes", "user_input", "errors"),
    [
        (
            _meter_attributes("power", "W", "measurement"),
            {},
            {CONF_SENSOR: "not_a_meter"},
        ),
        (
            _meter_attributes("water", "L/min", "measurement"),
            {},
            {CONF_SENSOR: "not_a_total"},
        ),
        (
            _meter_attributes("water", "m³"),
            {CONF_RESOURCE: "heat"},
            {CONF_RESOURCE: "resource_mismatch"},
        ),
        (
            _meter_attributes("gas", "m³"),
            {CONF_RESOURCE: "electricity"},
            {CONF_RESOURCE: "resource_mismatch"},
        ),
    ],
)
async def test_only_meter_totals_of_a_fitting_resource_are_adopted(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    entity_registry: er.EntityRegistry,
    attributes: dict[str, str],
    user_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    _register_meter(hass, entity_registry, WATER, attributes, "1")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "adopted"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SENSOR: WATER, **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert not hass.config_entries.async_entries(DOMAIN)


WMBUS_ID = "12345678"
WMBUS_STATE_TOPIC = "wmbusmeters/room7_water"


async def test_a_wireless_mbus_water_meter_from_wmbusmeters(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """wmbusmeters announces its meters with HA MQTT discovery (device class water, m³,
    total_increasing) and publishes each telegram as JSON: HA's MQTT integration makes the
    sensor, we adopt it like any other; no radio code of ours."""
    unique_id = f"wmbusmeters_{WMBUS_ID}_total_m3"
    fire(
        hass,
        f"homeassistant/sensor/wmbusmeters_{WMBUS_ID}/total_m3/config",
        {
            "name": "Total",
            "unique_id": unique_id,
            "state_topic": WMBUS_STATE_TOPIC,
            "value_template": "{{ value_json.total_m3 }}",
            "device_class": "water",
            "state_class": "total_increasing",
            "unit_of_measurement": "m³",
            "device": {
                "identifiers": [f"wmbusmeters_{WMBUS_ID}"],
                "name": "room7_water",
                "manufacturer": "Kamstrup",
                "model": "multical21",
            },
        },
        retain=True,
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    entity_id = entity_registry.async_get_entity_id("sensor", "mqtt", unique_id)
    assert entity_id is not None

    def telegram(total_m3: float) -> dict[str, Any]:
        return {
            "media": "cold water",
            "meter": "multical21",
            "name": "room7_water",
            "id": WMBUS_ID,
            "total_m3": total_m3,
            "target_m3": 6.2,
            "current_status": "OK",
            "timestamp": "2026-11-20T08:00:00Z",
        }

    fire(hass, WMBUS_STATE_TOPIC, telegram(6.408))
    await hass.async_block_till_done()
    entry = await _adopt(hass, {CONF_SENSOR: entity_id, CONF_NAME: "Room 7 water"})
    assert entry.data[CONF_RESOURCE] == "water"
    point = f"ha:{entity_registry.async_get(entity_id).id}"  # type: ignore[union-attr]
    assert [(r["point"], r["volume_l"]) for r in _readings(mqtt_mock)] == [(point, 6408)]

    mqtt_mock.async_publish.reset_mock()
    freezer.tick(3600)
    fire(hass, WMBUS_STATE_TOPIC, telegram(6.4125))  # half a litre more: rounds up
    await hass.async_block_till_done()
    assert _readings(mqtt_mock) == [
        {"point": point, "ts": int(dt_util.utcnow().timestamp()), "volume_l": 6413}
    ]


async def test_only_wh_points_get_statistics_from_the_ledger(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    entity_registry: er.EntityRegistry,
    shelly: er.RegistryEntry,
) -> None:
    """The backfill writes kWh statistics: an adopted water meter keeps the recorder's own
    (in its unit, m³), an electricity or heat sensor gets the ledger's history."""
    meter = _register_meter(hass, entity_registry, WATER, _meter_attributes("water", "m³"), "1")
    await _adopt(hass, {CONF_SENSOR: WATER})
    await _adopt(hass, {CONF_SENSOR: SENSOR, CONF_RESOURCE: "heat"})
    assert energy_sensor_of_point(hass, f"ha:{meter.id}") is None
    assert energy_sensor_of_point(hass, f"ha:{shelly.id}") == SENSOR


@pytest.mark.parametrize(
    "resource",
    ["", "Water", "steam", "électricité", "water\x00", "a" * 10_000, 7, None, ["water"], {"x": 1}],
)
async def test_the_resource_field_refuses_garbage(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    entity_registry: er.EntityRegistry,
    resource: Any,
) -> None:
    """Anything but the four names is refused by the form's schema; nothing is created."""
    _register_meter(hass, entity_registry, WATER, _meter_attributes("water", "m³"), "1")
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "adopted"}
    )
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_SENSOR: WATER, CONF_RESOURCE: resource}
        )
    assert not hass.config_entries.async_entries(DOMAIN)
