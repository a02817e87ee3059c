"""The integration sets up and unloads cleanly, and an unloaded hub hears nothing."""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.tenant_metering import RUNTIMES
from custom_components.tenant_metering.const import CONF_PREFIX, DOMAIN, EntryKind

from .common import (
    BASE,
    FULL_CHANNEL,
    announce,
    announcement,
    find_device,
    fire,
    setup_hub,
    state,
    state_of,
)


def test_every_entry_kind_has_a_runtime() -> None:
    assert set(RUNTIMES) == set(EntryKind)


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


async def test_unloaded_hub_ignores_announcements_and_states(
    hass: HomeAssistant,
    mqtt_mock: object,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    entry = await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(1, 1, {"1": FULL_CHANNEL}))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_201_power") == "712.4"
    entities = len(er.async_entries_for_config_entry(entity_registry, entry.entry_id))
    devices = len(dr.async_entries_for_config_entry(device_registry, entry.entry_id))

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    fire(hass, "tenant_metering/discovery/b0b0/config", announcement(device_id="b0b0"))
    fire(hass, f"{BASE}/state", state(2, 2, {"1": {**FULL_CHANNEL, "power": 1.0}}))
    await hass.async_block_till_done()
    assert len(er.async_entries_for_config_entry(entity_registry, entry.entry_id)) == entities
    assert len(dr.async_entries_for_config_entry(device_registry, entry.entry_id)) == devices
    assert find_device(hass, "b0b0") is None
    assert state_of(hass, "sensor.room_201_power") == "unavailable"
