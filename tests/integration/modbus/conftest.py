"""Fixtures for the Modbus core: profiles, a bus on the simulated server, simulated meters."""

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from custom_components.tenant_metering.sources.modbus.core import (
    GatewayConfig,
    ModbusBus,
    Profile,
    Transport,
    load_profiles,
)
from tenant_sim.modbus_server import SimulatedModbusServer


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the integration tests' autouse fixture: this core needs no `hass`."""


@pytest.fixture(scope="session")
def profiles() -> dict[str, Profile]:
    """The built-in profiles by id."""
    return dict(load_profiles().profiles)


def gateway_for(server: SimulatedModbusServer, **overrides: Any) -> GatewayConfig:
    """Settings reaching ``server`` with short timeouts and back-off, so tests stay fast."""
    config = GatewayConfig(
        transport=Transport.TCP,
        host=server.host,
        port=server.port,
        timeout_s=0.5,
        retries=0,
        backoff_initial_s=0.05,
        backoff_max_s=0.2,
    )
    return replace(config, **overrides)


@pytest.fixture
async def bus(modbus_server: SimulatedModbusServer) -> AsyncIterator[ModbusBus]:
    """A bus connected to the simulated server, closed after the test."""
    modbus_bus = ModbusBus(gateway_for(modbus_server))
    yield modbus_bus
    await modbus_bus.close()
