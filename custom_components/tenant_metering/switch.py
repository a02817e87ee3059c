"""Switches: the relay of a channel (MQTT breaker or Modbus meter), and a tenant's supply
(``ledger_link/supply.py``). Each entry's runtime says which it has."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .runtime import TenantMeteringConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: TenantMeteringConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add relay switches as breakers are announced and supply switches per tenant."""
    entry.runtime_data.async_add_platform_entities(Platform.SWITCH, async_add_entities)
