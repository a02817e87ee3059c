"""The integration sets up and unloads cleanly."""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tenant_metering.const import CONF_PREFIX, DOMAIN


async def test_setup_and_unload(hass: HomeAssistant, mqtt_mock: object) -> None:
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_PREFIX: "tenant_metering"})
    entry.add_to_hass(hass)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.prefix == "tenant_metering"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
