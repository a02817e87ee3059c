"""Tenant Metering: per-room electricity metering, billing and supply control.

Four kinds of config entries share this domain, told apart by ``entry.data["kind"]``:
the MQTT breaker hub (one per topic prefix), the link to the ledger add-on, Modbus gateways
(their meters are config subentries) and adopted HA energy sensors (one entry each).
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

from .adopted import AdoptedPoint
from .const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DEFAULT_PREFIX,
    DOMAIN,
    KIND_ADOPTED,
    KIND_LEDGER,
    KIND_MODBUS_GATEWAY,
    KIND_MQTT_HUB,
    LEDGER_UNIQUE_ID,
)
from .coordinator import LedgerLink
from .gateway import ModbusGateway
from .hub import MqttHub
from .ledger import LedgerClient
from .profiles import async_load_catalog
from .services import async_setup_services
from .statistics import BacklogImporter

PLATFORMS: Final = [Platform.BINARY_SENSOR, Platform.SENSOR, Platform.SWITCH]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

type TenantMeteringData = MqttHub | LedgerLink | ModbusGateway | AdoptedPoint
type TenantMeteringConfigEntry = ConfigEntry[TenantMeteringData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Set up the MQTT hub, the ledger link, a Modbus gateway or an adopted sensor."""
    # Every kind publishes readings to the ledger (or reads tenant state) over MQTT.
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    kind = entry.data.get(CONF_KIND, KIND_MQTT_HUB)
    if kind == KIND_ADOPTED:
        adopted = AdoptedPoint(hass, entry)
        entry.runtime_data = adopted
        await adopted.async_start()
        entry.async_on_unload(adopted.async_stop)
        return True
    if kind == KIND_MODBUS_GATEWAY:
        gateway = ModbusGateway(hass, entry, await async_load_catalog(hass))
        entry.runtime_data = gateway
        entry.async_on_unload(gateway.async_stop)
        # Polls once before the platforms: a dead bus is ConfigEntryNotReady, not zeros.
        await gateway.async_start()
        # Options, meters (subentries, which no reload helper covers) and the connection
        # change through this listener alone: the gateway's flows only update the entry.
        # Combining it with a flow reload helper (async_update_reload_and_abort,
        # OptionsFlowWithReload, unique-id updates) is an error from HA 2026.12.
        entry.async_on_unload(entry.add_update_listener(_async_reload))
        await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
        return True
    prefix = entry.data.get(CONF_PREFIX, DEFAULT_PREFIX)
    runtime: MqttHub | LedgerLink
    if kind == KIND_LEDGER:
        client = LedgerClient(
            async_get_clientsession(hass), entry.data[CONF_URL], entry.data[CONF_TOKEN]
        )
        link = LedgerLink(hass, entry, client, prefix)
        await link.async_load_guard()
        await link.async_load_chain()
        entry.async_on_unload(link.async_save_chain)
        runtime = link
    else:
        runtime = MqttHub(hass, entry, prefix, BacklogImporter(hass, entry))
    entry.runtime_data = runtime
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # Registered first, so a start that fails half-way leaves no subscriptions behind.
    entry.async_on_unload(runtime.async_stop)
    # Start after the platforms listen, so the first announcements find them.
    await runtime.async_start()
    return True


async def _async_reload(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> None:
    """Options, meters (subentries) or connection changed: set the gateway up again."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: TenantMeteringConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only once nothing announces or configures it any more."""
    runtime = entry.runtime_data
    if isinstance(runtime, MqttHub):
        known = set(runtime.breakers) | {
            f"{device_id}_{channel.id}"
            for device_id, breaker in runtime.breakers.items()
            for channel in breaker.config.channels
        }
    elif isinstance(runtime, ModbusGateway):
        known = runtime.known_device_identifiers()
    elif isinstance(runtime, LedgerLink):
        known = {LEDGER_UNIQUE_ID} | {f"tenant_{tenant_id}" for tenant_id in runtime.tenants}
    else:
        known = set()
    return not any(domain == DOMAIN and ident in known for domain, ident in device.identifiers)


async def async_unload_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Unload a config entry."""
    if entry.data.get(CONF_KIND) == KIND_ADOPTED:
        return True
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
