"""Binary sensors: whether a tenant is in arrears, and the ledger's cut-off guard."""

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
    """Add the arrears sensor of every tenant, and the ledger's cut-off guard."""
    entry.runtime_data.async_add_platform_entities(Platform.BINARY_SENSOR, async_add_entities)
