"""Fixtures shared by every part of the test suite: real brokers and real Modbus servers.

HA's pytest plugin is active for every test (it disables sockets, checks for lingering
threads and timers); tests that talk to real servers on 127.0.0.1 enable sockets through
these fixtures.
"""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from homeassistant.components.mqtt.models import DATA_MQTT
from homeassistant.core import HomeAssistant
import pytest

# Import our integration before any `hass` fixture runs, so HA finds this repository's
# custom_components rather than the plugin's bundled test config dir (HA_COMPAT.md).
import custom_components.tenant_metering  # noqa: F401
from tenant_sim.modbus_server import SimulatedModbusServer
from tenant_sim.mosquitto import MosquittoBroker

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mosquitto(tmp_path: Path, socket_enabled: None) -> Iterator[MosquittoBroker]:
    """A real Mosquitto broker on a free 127.0.0.1 port, stopped after the test."""
    with MosquittoBroker(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def modbus_slave_ids() -> list[int]:
    """Slave ids the simulated Modbus server answers for; override to change."""
    return [1]


@pytest.fixture
async def modbus_server(
    modbus_slave_ids: list[int], socket_enabled: None
) -> AsyncIterator[SimulatedModbusServer]:
    """A real pymodbus TCP server on a free 127.0.0.1 port."""
    async with SimulatedModbusServer(modbus_slave_ids) as server:
        yield server


@pytest.fixture
async def mqtt_mock(hass: HomeAssistant, mqtt_mock: object) -> AsyncIterator[object]:
    """HA's mocked MQTT client, with its 1 s misc-loop timer cancelled at teardown.

    The mocked socket never closes, so nothing else cancels that timer; cancelling exactly it
    keeps the lingering-timer check strict for our own timers (HA_COMPAT.md).
    """
    yield mqtt_mock
    client = hass.data[DATA_MQTT].client
    if client._misc_timer is not None:
        client._misc_timer.cancel()
        client._misc_timer = None
