"""Tenant Metering: per-room electricity metering, billing and supply control.

Four kinds of config entries share this domain, told apart by ``entry.data["kind"]``:
the MQTT breaker hub (one per topic prefix), the link to the ledger add-on, Modbus gateways
(their meters are config subentries) and adopted HA energy sensors (one entry each). Each
kind has a runtime class (``RUNTIMES``, checked complete by a test); everything else talks
to it as a ``SourceRuntime`` (runtime.py).
"""

from typing import Final

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import CONF_KIND, DOMAIN, EntryKind
from .ledger_link.link import LedgerLink
from .runtime import SourceRuntime, TenantMeteringConfigEntry
from .services import async_setup_services
from .sources.adopted.point import AdoptedPoint
from .sources.modbus.gateway import ModbusGateway
from .sources.mqtt.hub import MqttHub

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

RUNTIMES: Final[dict[EntryKind, type[SourceRuntime]]] = {
    EntryKind.MQTT_HUB: MqttHub,
    EntryKind.LEDGER: LedgerLink,
    EntryKind.MODBUS_GATEWAY: ModbusGateway,
    EntryKind.ADOPTED: AdoptedPoint,
}


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, whatever entries exist."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Set up the entry's runtime: prepare, the platforms, then start."""
    # Every kind publishes readings to the ledger (or reads tenant state) over MQTT.
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_ready")
    runtime_class = RUNTIMES[EntryKind(entry.data.get(CONF_KIND, EntryKind.MQTT_HUB))]
    runtime = await runtime_class.async_create(hass, entry)
    entry.runtime_data = runtime
    # Registered first, so a start that fails half-way leaves nothing behind.
    entry.async_on_unload(runtime.async_stop)
    await runtime.async_prepare()
    await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    # Start after the platforms listen, so the first announcements find them.
    await runtime.async_start()
    return True


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: TenantMeteringConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Let the user delete a device only once nothing announces or configures it any more."""
    known = entry.runtime_data.known_device_identifiers()
    return not any(domain == DOMAIN and ident in known for domain, ident in device.identifiers)


async def async_unload_entry(hass: HomeAssistant, entry: TenantMeteringConfigEntry) -> bool:
    """Unload a config entry."""
    return await hass.config_entries.async_unload_platforms(entry, entry.runtime_data.platforms)
