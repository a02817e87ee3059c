"""Set-up helpers for Modbus gateway tests: entries, subentries, simulated meters."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any
from unittest.mock import patch

from homeassistant.const import CONF_HOST, CONF_PORT, CONF_SCAN_INTERVAL
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tenant_metering.const import (
    CONF_CHANNEL_COUNT,
    CONF_CHANNELS,
    CONF_KIND,
    CONF_PROFILE,
    CONF_SLAVE_ID,
    CONF_TRANSPORT,
    DOMAIN,
    KIND_MODBUS_GATEWAY,
    SUBENTRY_METER,
)
from custom_components.tenant_metering.sources.modbus import gateway as gateway_module
from custom_components.tenant_metering.sources.modbus.core import (
    GatewayConfig,
    Profile,
    load_profiles,
)
from custom_components.tenant_metering.sources.modbus.gateway import ModbusGateway
from tenant_sim.modbus_meters import ChannelValues, SimulatedMeter
from tenant_sim.modbus_server import SimulatedModbusServer

GATEWAY_UID = "floor-2-db"
PROFILES: Mapping[str, Profile] = load_profiles().profiles


def meter_subentry(
    slave_id: int,
    profile_id: str,
    title: str,
    *,
    channel_count: int | None = None,
    channels: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {CONF_PROFILE: profile_id, CONF_SLAVE_ID: slave_id}
    if channel_count is not None:
        data[CONF_CHANNEL_COUNT] = channel_count
    if channels is not None:
        data[CONF_CHANNELS] = dict(channels)
    return {
        "data": data,
        "subentry_id": f"meter_{slave_id}",
        "subentry_type": SUBENTRY_METER,
        "title": title,
        "unique_id": str(slave_id),
    }


def gateway_entry(
    server: SimulatedModbusServer, meters: list[dict[str, Any]], **options: Any
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Floor 2 DB",
        unique_id=GATEWAY_UID,
        data={
            CONF_KIND: KIND_MODBUS_GATEWAY,
            CONF_TRANSPORT: "tcp",
            CONF_HOST: server.host,
            CONF_PORT: server.port,
        },
        options={CONF_SCAN_INTERVAL: 30, **options},
        subentries_data=meters,
        entry_id="gateway_entry_id",
    )


def _fast(data: Mapping[str, Any]) -> GatewayConfig:
    """Short timeouts and back-off, so reconnect tests take milliseconds."""
    config = _real_gateway_config(data)
    return replace(config, timeout_s=0.5, retries=0, backoff_initial_s=0.01, backoff_max_s=0.05)


_real_gateway_config = gateway_module.gateway_config


@contextmanager
def fast_bus() -> Iterator[None]:
    with patch.object(gateway_module, "gateway_config", _fast):
        yield


async def setup_gateway(
    hass: HomeAssistant, server: SimulatedModbusServer, meters: list[dict[str, Any]]
) -> MockConfigEntry:
    entry = gateway_entry(server, meters)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One scan interval: the coordinator polls every meter."""
    runtime = entry.runtime_data
    assert isinstance(runtime, ModbusGateway)
    await runtime.coordinator.async_refresh()
    await hass.async_block_till_done()


def simulated(
    server: SimulatedModbusServer,
    profile_id: str,
    slave_id: int,
    channel_count: int | None = None,
) -> SimulatedMeter:
    return SimulatedMeter(
        server, PROFILES[profile_id], slave_id=slave_id, channel_count=channel_count
    )


def values(index: int = 0, *, energy_wh: int = 1_234_560, **overrides: Any) -> ChannelValues:
    return replace(
        ChannelValues(
            voltage=230.1,
            current=3.2 + index,
            power=712.0 + 100 * index,
            power_factor=0.97,
            frequency=50.0,
            energy_wh=energy_wh + 10_000 * index,
        ),
        **overrides,
    )
