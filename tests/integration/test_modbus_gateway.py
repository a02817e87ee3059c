"""Modbus gateways against a real pymodbus server: entities, polling, failures, ledger, relay."""

import asyncio
from collections.abc import Iterator
import logging
from unittest.mock import MagicMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.tenant_metering.compat import device_config_subentries
from custom_components.tenant_metering.readings import PointReading
from custom_components.tenant_metering.resources import Resource
from custom_components.tenant_metering.sources.modbus.core import Quantity
from custom_components.tenant_metering.sources.modbus.gateway import ModbusGateway
from tenant_sim.modbus_meters import ChannelValues
from tenant_sim.modbus_server import SimulatedModbusServer, Table as ServerTable

from .common import find_device, published, state_of
from .modbus_common import (
    GATEWAY_UID,
    fast_bus,
    gateway_entry,
    meter_subentry,
    poll,
    setup_gateway,
    simulated,
    values,
)

READINGS = "tenant_metering/readings"
PZEM = meter_subentry(1, "peacefair_pzem016", "Room 101 meter")
PREPAID = meter_subentry(2, "generic_prepaid_relay", "Room 102 meter")


def _polled_ok(gateway: ModbusGateway) -> bool:
    return gateway.coordinator.last_update_success


@pytest.fixture(autouse=True)
def _fast_bus() -> Iterator[None]:
    with fast_bus():
        yield


@pytest.mark.parametrize("modbus_slave_ids", [[1, 2]])
@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.SWITCH])
async def test_entity_set_and_devices(
    hass: HomeAssistant,
    platform: Platform,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    simulated(modbus_server, "generic_prepaid_relay", 2).set_channel("1", values(1))
    with patch(
        "custom_components.tenant_metering.sources.modbus.gateway.ModbusGateway.platforms",
        (platform,),
    ):
        entry = await setup_gateway(hass, modbus_server, [PZEM, PREPAID])

    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)

    gateway = find_device(hass, GATEWAY_UID)
    meter = find_device(hass, f"{GATEWAY_UID}_2")
    channel = find_device(hass, f"{GATEWAY_UID}_2_1")
    assert gateway is not None
    assert meter is not None
    assert channel is not None
    assert meter.via_device_id == gateway.id
    assert channel.via_device_id == meter.id
    assert (meter.name, meter.model) == ("Room 102 meter", "Single-phase prepaid meter with relay")
    assert channel.name == "Room 102 meter 1"
    # Meter and channel devices belong to the meter's subentry, the gateway to the entry.
    assert device_config_subentries(meter) == {entry.entry_id: {"meter_2"}}
    assert device_config_subentries(channel) == {entry.entry_id: {"meter_2"}}
    assert device_config_subentries(gateway) == {entry.entry_id: {None}}
    for entity in er.async_entries_for_config_entry(entity_registry, entry.entry_id):
        assert entity.unique_id.startswith((f"{GATEWAY_UID}_1_1_", f"{GATEWAY_UID}_2_1_"))
        assert entity.config_subentry_id in {"meter_1", "meter_2"}


async def test_values_written_to_registers_read_back(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    meter = simulated(modbus_server, "peacefair_pzem016", 1)
    meter.set_channel("1", values(0, energy_wh=1_234_567))
    entry = await setup_gateway(hass, modbus_server, [PZEM])

    assert state_of(hass, "sensor.room_101_meter_1_voltage") == "230.1"
    assert state_of(hass, "sensor.room_101_meter_1_current") == "3.2"
    assert state_of(hass, "sensor.room_101_meter_1_power") == "712.0"
    assert state_of(hass, "sensor.room_101_meter_1_energy") == "1234.567"

    meter.set_channel("1", values(0, energy_wh=1_234_568, voltage=231.5))
    await poll(hass, entry)
    assert state_of(hass, "sensor.room_101_meter_1_voltage") == "231.5"
    assert state_of(hass, "sensor.room_101_meter_1_energy") == "1234.568"


@pytest.mark.parametrize(
    ("modbus_slave_ids", "meters", "first_requests", "expected_requests"),
    [
        # 18 channels: 144 contiguous registers = 2 reads (≤ 125 each); the relay coils are
        # read on the first poll and then only every relay refresh interval (5 minutes).
        ([1], [meter_subentry(1, "generic_multi_circuit", "DB", channel_count=18)], 3, 2),
        # A bus of 16 PZEM-016s: one block read per slave.
        (
            list(range(1, 17)),
            [meter_subentry(s, "peacefair_pzem016", f"R{s}") for s in range(1, 17)],
            16,
            16,
        ),
    ],
    ids=["multi_circuit_18", "pzem016_x16"],
)
async def test_block_reads_per_poll(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    meters: list[dict[str, object]],
    first_requests: int,
    expected_requests: int,
) -> None:
    entry = await setup_gateway(hass, modbus_server, meters)
    assert modbus_server.requests == first_requests
    await poll(hass, entry)
    assert modbus_server.requests == first_requests + expected_requests
    assert entry.runtime_data.bus.requests == first_requests + expected_requests


async def test_bus_down_makes_entities_unavailable_then_back(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    entry = await setup_gateway(hass, modbus_server, [PZEM])
    gateway = entry.runtime_data
    assert isinstance(gateway, ModbusGateway)
    assert state_of(hass, "sensor.room_101_meter_1_energy") == "1234.56"

    await modbus_server.stop()
    await poll(hass, entry)
    assert not _polled_ok(gateway)
    assert state_of(hass, "sensor.room_101_meter_1_energy") == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.room_101_meter_1_voltage") == STATE_UNAVAILABLE

    await modbus_server.start()
    for _ in range(50):  # past the (shortened) back-off
        await asyncio.sleep(0.02)
        await poll(hass, entry)
        if _polled_ok(gateway):
            break
    assert state_of(hass, "sensor.room_101_meter_1_energy") == "1234.56"


async def test_a_meter_missing_from_a_live_bus_is_unavailable_alone(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    # Slave 2 is configured but nobody answers for it (a dead meter on the RS-485 bus): its
    # entities are unavailable, the meter that answers keeps its values, the bus stays up.
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    entry = await setup_gateway(
        hass, modbus_server, [PZEM, meter_subentry(2, "peacefair_pzem016", "Room 102 meter")]
    )
    gateway = entry.runtime_data
    assert isinstance(gateway, ModbusGateway)

    await poll(hass, entry)
    assert _polled_ok(gateway)
    assert state_of(hass, "sensor.room_101_meter_1_energy") == "1234.56"
    assert state_of(hass, "sensor.room_102_meter_1_energy") == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.room_102_meter_1_voltage") == STATE_UNAVAILABLE


async def test_bad_register_values_are_unavailable_not_zero(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    meter = simulated(modbus_server, "eastron_sdm120", 1)
    meter.set_channel("1", values(0))
    entry = await setup_gateway(
        hass, modbus_server, [meter_subentry(1, "eastron_sdm120", "Pump meter")]
    )
    assert state_of(hass, "sensor.pump_meter_1_voltage") == "230.1"

    meter.write_words("1", Quantity.VOLTAGE, [0x7FC0, 0x0000])  # f32 NaN
    meter.write_words("1", Quantity.ENERGY, [0x7F80, 0x0000])  # +infinity
    await poll(hass, entry)
    assert state_of(hass, "sensor.pump_meter_1_voltage") == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.pump_meter_1_energy") == STATE_UNAVAILABLE
    assert state_of(hass, "sensor.pump_meter_1_power") == "712.0"


async def test_readings_reach_the_ledger_with_modbus_point_ids(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    meter = simulated(modbus_server, "peacefair_pzem016", 1)
    meter.set_channel("1", values(0, energy_wh=500_000))
    entry = await setup_gateway(hass, modbus_server, [PZEM])
    (first,) = await published(mqtt_mock, READINGS)
    (reading,) = first["readings"]
    assert reading["point"] == f"modbus:{GATEWAY_UID}:1:1"
    assert reading["energy_wh"] == 500_000
    assert isinstance(reading["ts"], int)

    # A spike no 32 A circuit could deliver is not published (and not shown).
    meter.set_channel("1", values(0, energy_wh=900_000))
    mqtt_mock.async_publish.reset_mock()
    with patch(
        "custom_components.tenant_metering.sources.modbus.gateway.PointReading"
    ) as point_reading:
        await poll(hass, entry)
    point_reading.assert_not_called()
    assert state_of(hass, "sensor.room_101_meter_1_energy") == STATE_UNAVAILABLE

    # A reset (meter cleared) is published and logged: the ledger starts a new baseline.
    meter.set_channel("1", values(0, energy_wh=12))
    caplog.set_level(logging.WARNING)
    # A later second than the first poll's, which the publisher would de-duplicate.
    entry.runtime_data.meters["meter_1"].poller._wall_clock = lambda: 4_000_000_000.0
    await poll(hass, entry)
    (after_reset,) = await published(mqtt_mock, READINGS)
    assert after_reset["readings"] == [
        {"point": f"modbus:{GATEWAY_UID}:1:1", "ts": 4_000_000_000, "energy_wh": 12}
    ]
    assert f"modbus:{GATEWAY_UID}:1:1" in caplog.text
    assert entry.runtime_data.counter_resets == {f"modbus:{GATEWAY_UID}:1:1": 1}


@pytest.mark.parametrize("modbus_slave_ids", [[1, 2]])
async def test_relay_switch_on_a_relay_capable_meter(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    prepaid = simulated(modbus_server, "generic_prepaid_relay", 2)
    prepaid.set_channel("1", values(1))
    await setup_gateway(hass, modbus_server, [PZEM, PREPAID])
    assert hass.states.get("switch.room_101_meter_1_relay") is None  # PZEM-016: no relay
    relay = "switch.room_102_meter_1_relay"
    assert state_of(hass, relay) == "on"

    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: relay}, blocking=True
    )
    await hass.async_block_till_done()
    assert prepaid.relay("1") is False
    assert state_of(hass, relay) == "off"

    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: relay}, blocking=True
    )
    await hass.async_block_till_done()
    assert prepaid.relay("1") is True
    assert state_of(hass, relay) == "on"


@pytest.mark.parametrize("modbus_slave_ids", [[2]])
async def test_a_relay_that_cannot_be_read_is_unknown_not_off_and_still_switches(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    """The relay register is its own read. Refused, the switch is neither on nor off while
    the meter's readings go on; it stays available, so a supply cut still reaches it."""
    prepaid = simulated(modbus_server, "generic_prepaid_relay", 2)
    prepaid.set_channel("1", values(1))
    modbus_server.refuse(2, ServerTable.HOLDING, 0x2100, 1)
    entry = await setup_gateway(hass, modbus_server, [PREPAID])
    relay = "switch.room_102_meter_1_relay"
    assert state_of(hass, relay) == STATE_UNKNOWN
    assert state_of(hass, "sensor.room_102_meter_1_voltage") == "230.1"

    modbus_server.allow_all(2)
    await poll(hass, entry)
    assert state_of(hass, relay) == "on"
    modbus_server.refuse(2, ServerTable.HOLDING, 0x2100, 1)
    with pytest.raises(HomeAssistantError):  # refused: no confirmation
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: relay}, blocking=True
        )
    await poll(hass, entry)
    assert state_of(hass, relay) == STATE_UNKNOWN  # read back after the command: refused

    modbus_server.allow_all(2)
    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: relay}, blocking=True
    )
    await hass.async_block_till_done()
    assert prepaid.relay("1") is False
    assert state_of(hass, relay) == "off"


async def test_gateway_down_at_setup_retries(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    await modbus_server.stop()
    entry = gateway_entry(modbus_server, [PZEM])
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


@pytest.mark.parametrize("modbus_slave_ids", [[1, 2]])
async def test_a_heat_meter_beside_a_room_meter(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    """The heat meter's integer Wh register goes to the ledger as heat; its energy sensor is
    not offered to the energy dashboard as an electricity device, the room meter's is."""
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    simulated(modbus_server, "generic_heat_meter", 2).set_channel(
        "1", ChannelValues(energy_wh=98_765_432, power=45_000)
    )
    entry = await setup_gateway(
        hass, modbus_server, [PZEM, meter_subentry(2, "generic_heat_meter", "Hot water heat")]
    )
    (batch,) = await published(mqtt_mock, READINGS)
    assert {r["point"]: r["energy_wh"] for r in batch["readings"]} == {
        f"modbus:{GATEWAY_UID}:1:1": 1_234_560,
        f"modbus:{GATEWAY_UID}:2:1": 98_765_432,
    }
    assert state_of(hass, "sensor.hot_water_heat_1_energy") == "98765.432"
    runtime = entry.runtime_data
    assert isinstance(runtime, ModbusGateway)
    assert {device.stat_consumption: device.resource for device in runtime.energy_devices()} == {
        "sensor.room_101_meter_1_energy": Resource.ELECTRICITY,
        "sensor.hot_water_heat_1_energy": Resource.HEAT,
    }
    with patch(
        "custom_components.tenant_metering.sources.modbus.gateway.PointReading",
        wraps=PointReading,
    ) as point_reading:
        await poll(hass, entry)
    resources = {
        call.kwargs["point"]: call.kwargs["resource"] for call in point_reading.call_args_list
    }
    assert resources == {
        f"modbus:{GATEWAY_UID}:1:1": Resource.ELECTRICITY,
        f"modbus:{GATEWAY_UID}:2:1": Resource.HEAT,
    }
