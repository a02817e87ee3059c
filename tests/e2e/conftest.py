"""End-to-end fixtures: the real ledger service as a subprocess, HA's MQTT on a real broker,
the integration linked to both, and our blueprints (the pieces are in ``harness.py``)."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from unittest.mock import AsyncMock, patch

from homeassistant.core import HomeAssistant
import pytest

from tenant_sim.mosquitto import MosquittoBroker

from .harness import Blueprints, Ledger, metering_entries, mqtt_entry, set_up, unload


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom_components/tenant_metering."""


@pytest.fixture
def ledger_args() -> list[str]:
    """More ``serve`` options for the ledger (a test module overrides this fixture)."""
    return []


@pytest.fixture
def ledger(tmp_path: Path, mosquitto: MosquittoBroker, ledger_args: list[str]) -> Iterator[Ledger]:
    """A started ledger subprocess on the test broker, stopped after the test."""
    service = Ledger(tmp_path, mosquitto, *ledger_args)
    try:
        service.start()
        yield service
    finally:
        service.stop()


@pytest.fixture
async def mqtt_on_broker(hass: HomeAssistant, mosquitto: MosquittoBroker) -> AsyncIterator[None]:
    """HA's MQTT integration connected to the real broker."""
    entry = mqtt_entry(mosquitto)
    # The test config dir has no configuration.yaml; MQTT reads it for YAML entities.
    with patch("homeassistant.config.async_hass_config_yaml", AsyncMock(return_value={})):
        await set_up(hass, [entry])
        yield
    # Close the connection before HA stops, so its timers end with the socket.
    await unload(hass, [entry])


@pytest.fixture
async def metering(
    hass: HomeAssistant, mqtt_on_broker: None, ledger: Ledger
) -> AsyncIterator[None]:
    """The integration set up against the real broker and ledger: MQTT hub + ledger link."""
    entries = metering_entries(ledger)
    await set_up(hass, entries)
    yield
    await unload(hass, reversed(entries))


@pytest.fixture
async def blueprints(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[Blueprints]:
    """Our blueprints in HA's config dir and a mocked landlord notifier.

    At teardown the automations are turned off, which detaches their time triggers (the
    harness fails tests that leave timers behind).
    """
    yield Blueprints.install(hass, tmp_path / "config")
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all"}, blocking=True
        )
        await hass.async_block_till_done()
