"""Sensors: measurements per channel (MQTT breaker or Modbus meter), figures per tenant, and
the ledger's cut-off count and chain head. Each entry's runtime says which it has."""

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
    """Add sensors as breakers report fields, meters are configured and tenants appear."""
    entry.runtime_data.async_add_platform_entities(Platform.SENSOR, async_add_entities)
