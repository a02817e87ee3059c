"""Tenant Metering: per-room electricity metering, billing and supply control."""

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .const import CONF_PREFIX, DEFAULT_PREFIX

PLATFORMS: list[Platform] = []


@dataclass
class TenantMeteringData:
    """What a config entry holds while it is loaded."""

    prefix: str


type TenantMeteringConfigEntry = ConfigEntry[TenantMeteringData]


async def async_setup_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Set up Tenant Metering from a config entry."""
    entry.runtime_data = TenantMeteringData(prefix=entry.data.get(CONF_PREFIX, DEFAULT_PREFIX))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
