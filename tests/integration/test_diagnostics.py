"""Diagnostics: breakers and tenants, with the ledger token redacted."""

from unittest.mock import MagicMock

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from .common import BASE, FULL_CHANNEL, announce, fire, setup_hub, state
from .fake_ledger import FakeLedger
from .test_ledger_link import setup_ledger

VOLATILE = props("entry_id", "created_at", "modified_at", "url", "configuration_url")


async def test_hub_diagnostics(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1763800000, 7, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics == snapshot(exclude=VOLATILE)


async def test_ledger_diagnostics_redact_the_token(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    entry = await setup_ledger(hass, fake_ledger)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"]["token"] == "**REDACTED**"
    assert "secret-token" not in str(diagnostics)
    assert diagnostics == snapshot(exclude=VOLATILE)
