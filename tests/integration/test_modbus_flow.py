"""Config flows of Modbus gateways and their meter subentries, options and reconfigure."""

from collections.abc import Iterator
from pathlib import Path
from unittest.mock import MagicMock, patch

from homeassistant.config_entries import SOURCE_RECONFIGURE, SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.tenant_metering.const import (
    CONF_CHANNELS,
    CONF_KIND,
    CONF_PROFILE,
    CONF_SLAVE_ID,
    CONF_TRANSPORT,
    DOMAIN,
    KIND_MODBUS_GATEWAY,
    SUBENTRY_METER,
)
from custom_components.tenant_metering.sources.modbus.gateway import ModbusGateway
from tenant_sim.modbus_server import SimulatedModbusServer
from tenant_sim.net import free_port

from .common import state_of
from .modbus_common import GATEWAY_UID, fast_bus, meter_subentry, setup_gateway, simulated, values


@pytest.fixture(autouse=True)
def _fast_bus() -> Iterator[None]:
    with fast_bus():
        yield


async def _start_gateway_flow(hass: HomeAssistant, name: str, transport: str) -> str:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "modbus_gateway" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "modbus_gateway"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: name, CONF_TRANSPORT: transport}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == ("gateway_serial" if transport == "serial" else "gateway_network")
    return str(result["flow_id"])


@pytest.mark.parametrize("transport", ["tcp", "rtu_over_tcp"])
async def test_gateway_flow_tests_the_connection(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    transport: str,
) -> None:
    flow_id = await _start_gateway_flow(hass, "Floor 2 DB", transport)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: modbus_server.host, CONF_PORT: free_port()}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: modbus_server.host, CONF_PORT: modbus_server.port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Floor 2 DB"
    assert result["data"] == {
        CONF_KIND: KIND_MODBUS_GATEWAY,
        CONF_TRANSPORT: transport,
        CONF_HOST: modbus_server.host,
        CONF_PORT: modbus_server.port,
    }
    assert result["options"] == {CONF_SCAN_INTERVAL: 30}
    entry = result["result"]
    assert entry.unique_id == GATEWAY_UID
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    # The same name, or the same address, is the same gateway.
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    flow = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"next_step_id": "modbus_gateway"}
    )
    flow = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {CONF_NAME: "floor 2 db", CONF_TRANSPORT: "tcp"}
    )
    assert flow["type"] is FlowResultType.ABORT
    assert flow["reason"] == "already_configured"
    flow_id = await _start_gateway_flow(hass, "Other name", "tcp")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_HOST: modbus_server.host, CONF_PORT: modbus_server.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_serial_gateway_that_cannot_open_is_refused(
    hass: HomeAssistant, mqtt_mock: MagicMock, tmp_path: Path
) -> None:
    flow_id = await _start_gateway_flow(hass, "Basement RS-485", "serial")
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            "serial_port": str(tmp_path / "no-such-tty"),
            "baudrate": "9600",
            "bytesize": "8",
            "parity": "N",
            "stopbits": "1",
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}


async def test_invalid_gateway_name(hass: HomeAssistant, mqtt_mock: MagicMock) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "modbus_gateway"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "!!!", CONF_TRANSPORT: "tcp"}
    )
    assert result["errors"] == {CONF_NAME: "invalid_name"}


async def test_meter_subentry_flow_with_channels_and_incomer(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    meter = simulated(modbus_server, "generic_multi_circuit", 1, channel_count=6)
    for index, channel_id in enumerate(meter.channels):
        meter.set_channel(channel_id, values(index))
    entry = await setup_gateway(hass, modbus_server, [])

    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Floor 2 meter", CONF_PROFILE: "generic_multi_circuit", CONF_SLAVE_ID: 1},
    )
    assert result["step_id"] == "channel_count"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"channel_count": "6"}
    )
    assert result["step_id"] == "channels"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "names": ["Room 201", "Room 202", "Room 203", "Room 204", "Corridor"],
            "incomer": "6",
            "common_areas": ["5"],
            "rated_current_a": 16,
            "incomer_rated_current_a": 63,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    (subentry,) = entry.subentries.values()
    assert subentry.title == "Floor 2 meter"
    assert subentry.unique_id == "1"
    channels = subentry.data[CONF_CHANNELS]
    assert channels["1"] == {"name": "Room 201", "role": "tenant", "rated_current_a": 16.0}
    assert channels["5"] == {"name": "Corridor", "role": "common", "rated_current_a": 16.0}
    assert channels["6"] == {"name": "Floor 2 meter 6", "role": "incomer", "rated_current_a": 63.0}

    # The update listener reloaded the gateway with the new meter.
    assert entry.state is ConfigEntryState.LOADED
    assert state_of(hass, "sensor.room_201_energy") == "1234.56"
    assert state_of(hass, "sensor.floor_2_meter_6_energy") == "1284.56"
    assert state_of(hass, "switch.corridor_relay") == "on"

    # A second meter on the same slave id is refused.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Clash", CONF_PROFILE: "peacefair_pzem016", CONF_SLAVE_ID: 1},
    )
    assert result["errors"] == {CONF_SLAVE_ID: "slave_in_use"}


async def test_single_channel_meter_skips_the_count(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    entry = await setup_gateway(hass, modbus_server, [])
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {CONF_NAME: "Room 7", CONF_PROFILE: "peacefair_pzem016", CONF_SLAVE_ID: 1},
    )
    assert result["step_id"] == "channels"
    schema = result["data_schema"]
    assert schema is not None
    assert set(schema.schema) == {"names", "rated_current_a"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"names": ["Room 7"], "rated_current_a": 32}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (subentry,) = entry.subentries.values()
    assert subentry.data[CONF_CHANNELS] == {
        "1": {"name": "Room 7", "role": "tenant", "rated_current_a": 32.0}
    }


async def test_meter_reconfigure_renames_and_keeps_ids(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    entry = await setup_gateway(
        hass, modbus_server, [meter_subentry(1, "peacefair_pzem016", "Room 101 meter")]
    )
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_METER),
        context={"source": SOURCE_RECONFIGURE, "subentry_id": "meter_1"},
    )
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_NAME: "Room 101 PZEM"}
    )
    assert result["step_id"] == "channels"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"names": ["Room 101"], "rated_current_a": 20}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    subentry = entry.subentries["meter_1"]
    assert subentry.title == "Room 101 PZEM"
    assert subentry.data[CONF_SLAVE_ID] == 1
    assert subentry.data[CONF_CHANNELS]["1"]["rated_current_a"] == 20.0
    gateway = entry.runtime_data
    assert isinstance(gateway, ModbusGateway)
    assert gateway.meters["meter_1"].channels[0].name == "Room 101"
    # Entity ids were registered under the old name; unique ids did not change.
    assert state_of(hass, "sensor.room_101_meter_1_energy") == "1234.56"


async def test_options_flow_changes_the_scan_interval(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    entry = await setup_gateway(hass, modbus_server, [])
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 10}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options == {CONF_SCAN_INTERVAL: 10}
    gateway = entry.runtime_data
    assert isinstance(gateway, ModbusGateway)
    assert gateway.coordinator.update_interval is not None
    assert gateway.coordinator.update_interval.total_seconds() == 10


async def test_reconfigure_moves_the_gateway_and_keeps_its_id(
    hass: HomeAssistant, mqtt_mock: MagicMock, modbus_server: SimulatedModbusServer
) -> None:
    entry = await setup_gateway(hass, modbus_server, [])
    async with SimulatedModbusServer([1]) as moved:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
        )
        assert result["step_id"] == "reconfigure_network"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: moved.host, CONF_PORT: free_port()}
        )
        assert result["errors"] == {"base": "cannot_connect"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: moved.host, CONF_PORT: moved.port}
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.data[CONF_PORT] == moved.port
        assert entry.unique_id == GATEWAY_UID
        assert entry.state is ConfigEntryState.LOADED
        await hass.config_entries.async_unload(entry.entry_id)


async def test_every_gateway_change_reloads_it_once_through_its_update_listener(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Options, meters and the connection reload the gateway once each, by its listener.

    Current HA releases refuse an update listener combined with the config flows' reload
    helpers (async_update_reload_and_abort, OptionsFlowWithReload, unique-id updates); the
    gateway's flows only update its entry, and its listener reloads it.
    """
    simulated(modbus_server, "peacefair_pzem016", 1).set_channel("1", values(0))
    entry = await setup_gateway(
        hass, modbus_server, [meter_subentry(1, "peacefair_pzem016", "Room 101 meter")]
    )
    starts: list[str] = []
    real_start = ModbusGateway.async_start

    async def counted_start(gateway: ModbusGateway) -> None:
        starts.append(gateway.entry.entry_id)
        await real_start(gateway)

    with patch.object(ModbusGateway, "async_start", counted_start):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: 10}
        )
        await hass.async_block_till_done()
        assert len(starts) == 1

        meter_flow = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_METER),
            context={"source": SOURCE_RECONFIGURE, "subentry_id": "meter_1"},
        )
        meter_flow = await hass.config_entries.subentries.async_configure(
            meter_flow["flow_id"], {CONF_NAME: "Room 101 PZEM"}
        )
        await hass.config_entries.subentries.async_configure(
            meter_flow["flow_id"], {"names": ["Room 101"], "rated_current_a": 20}
        )
        await hass.async_block_till_done()
        assert len(starts) == 2

        async with SimulatedModbusServer([1]) as moved:
            result = await hass.config_entries.flow.async_init(
                DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
            )
            await hass.config_entries.flow.async_configure(
                result["flow_id"], {CONF_HOST: moved.host, CONF_PORT: moved.port}
            )
            await hass.async_block_till_done()
            assert len(starts) == 3

            assert hass.config_entries.async_remove_subentry(entry, "meter_1")
            await hass.async_block_till_done()
            assert len(starts) == 4
            assert entry.state is ConfigEntryState.LOADED
            await hass.config_entries.async_unload(entry.entry_id)

    assert starts == [entry.entry_id] * 4
    assert "update listener" not in caplog.text


async def test_broken_user_profile_raises_a_repair_issue(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    modbus_server: SimulatedModbusServer,
    issue_registry: ir.IssueRegistry,
) -> None:
    profiles = Path(hass.config.path("tenant_metering", "profiles"))
    await hass.async_add_executor_job(lambda: profiles.mkdir(parents=True, exist_ok=True))
    broken = profiles / "my_meter.yaml"
    await hass.async_add_executor_job(
        broken.write_text,
        "schema: 1\nid: my_meter\nname: Mine\nmanufacturer: Me\nmodel: M1\nsource: manual\n"
        "rated_current_a: lots\nchannels: []\n",
    )
    entry = await setup_gateway(hass, modbus_server, [meter_subentry(1, "my_meter", "Mine")])
    assert entry.state is ConfigEntryState.LOADED  # the meter is skipped, the gateway runs
    issue = issue_registry.async_get_issue(DOMAIN, "profile_invalid_my_meter.yaml")
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["file"] == str(broken)
    assert issue.translation_placeholders["field"] == "rated_current_a"

    await hass.async_add_executor_job(broken.unlink)
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, "profile_invalid_my_meter.yaml") is None
