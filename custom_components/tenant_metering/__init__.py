"""Tenant Metering: per-room electricity metering, billing and supply control.

Two kinds of config entries share this domain, told apart by ``entry.data["kind"]``:
the MQTT breaker hub (one per topic prefix) and the link to the ledger add-on.
"""

from typing import Final

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DEFAULT_PREFIX,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT_HUB,
    LEDGER_UNIQUE_ID,
)
from .coordinator import LedgerLink
from .hub import MqttHub
from .ledger import LedgerClient
from .services import async_setup_services
from .statistics import BacklogImporter

PLATFORMS: Final = [Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

type TenantMeteringData = MqttHub | LedgerLink
type TenantMeteringConfigEntry = ConfigEntry[TenantMeteringData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Set up the MQTT hub or the ledger link."""
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    prefix = entry.data.get(CONF_PREFIX, DEFAULT_PREFIX)
    runtime: TenantMeteringData
    if entry.data.get(CONF_KIND, KIND_MQTT_HUB) == KIND_LEDGER:
        client = LedgerClient(
            async_get_clientsession(hass), entry.data[CONF_URL], entry.data[CONF_TOKEN]
        )
        runtime = LedgerLink(hass, entry, client, prefix)
    else:
        runtime = MqttHub(hass, entry, prefix, BacklogImporter(hass, entry))
    entry.runtime_data = runtime
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Start after the platforms listen, so the first announcements find them.
    await runtime.async_start()
    entry.async_on_unload(runtime.async_stop)
    return True


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: TenantMeteringConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only once nothing announces it any more."""
    runtime = entry.runtime_data
    if isinstance(runtime, MqttHub):
        known = set(runtime.breakers) | {
            f"{device_id}_{channel.id}"
            for device_id, breaker in runtime.breakers.items()
            for channel in breaker.config.channels
        }
    else:
        known = {LEDGER_UNIQUE_ID} | {f"tenant_{tenant_id}" for tenant_id in runtime.tenants}
    return not any(domain == DOMAIN and ident in known for domain, ident in device.identifiers)


async def async_unload_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
