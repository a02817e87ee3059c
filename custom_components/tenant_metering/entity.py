"""Base entities: one for breaker channels, one for ledger tenants."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import (
    DOMAIN,
    LEDGER_UNIQUE_ID,
    signal_device_update,
    signal_new_channel_entity,
    signal_new_tenant,
    signal_tenant_update,
)
from .hub import ChannelEntityKey, MqttHub
from .protocol import ChannelState

if TYPE_CHECKING:
    from .coordinator import LedgerLink, TenantState


class BreakerChannelEntity(Entity):
    """An entity of one breaker channel, updated by the hub's dispatcher signal."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, hub: MqttHub, key: ChannelEntityKey, description: EntityDescription) -> None:
        self.hub = hub
        self.key = key
        self.entity_description = description
        self._attr_unique_id = key.unique_id
        self._attr_device_info = hub.breakers[key.device_id].channel_device_info(key.channel_id)

    @property
    def channel_state(self) -> ChannelState | None:
        return self.hub.channel_state(self.key.device_id, self.key.channel_id)

    @property
    def available(self) -> bool:
        return self.hub.available(self.key.device_id)

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_device_update(self.hub.entry.entry_id, self.key.device_id),
                self._handle_update,
            )
        )

    @callback
    def _handle_update(self) -> None:
        self.async_write_ha_state()


class TenantEntity(Entity):
    """An entity of one tenant, updated from the ledger's retained tenant state."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, link: "LedgerLink", tenant_id: str, description: EntityDescription) -> None:
        self.link = link
        self.tenant_id = tenant_id
        self.entity_description = description
        self._attr_unique_id = f"tenant_{tenant_id}_{description.key}"
        tenant = link.tenants[tenant_id]
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, f"tenant_{tenant_id}")},
            name=tenant.name,
            manufacturer="Tenant Metering Ledger",
            model="Tenant",
            via_device=(DOMAIN, LEDGER_UNIQUE_ID),
        )

    @property
    def tenant(self) -> "TenantState | None":
        return self.link.tenants.get(self.tenant_id)

    @property
    def available(self) -> bool:
        return self.tenant is not None

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signal_tenant_update(self.link.entry.entry_id, self.tenant_id),
                self._handle_update,
            )
        )

    @callback
    def _handle_update(self, *_: Any) -> None:
        self.async_write_ha_state()


@callback
def async_listen_for_entities(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    async_add_entities: AddConfigEntryEntitiesCallback,
    *,
    channel: Callable[[MqttHub, ChannelEntityKey], list[Entity]],
    tenant: Callable[["LedgerLink", str], list[Entity]],
    ledger: Callable[["LedgerLink"], list[Entity]] | None = None,
) -> None:
    """Add a platform's entities as the hub announces channel fields or the ledger tenants.

    ``ledger`` gives the entities of the ledger device itself, added once.
    """
    runtime = entry.runtime_data
    if isinstance(runtime, MqttHub):
        hub = runtime

        @callback
        def _add_channel_entities(key: ChannelEntityKey) -> None:
            if entities := channel(hub, key):
                async_add_entities(entities)

        entry.async_on_unload(
            async_dispatcher_connect(
                hass, signal_new_channel_entity(entry.entry_id), _add_channel_entities
            )
        )
        return
    link = runtime
    if ledger is not None:
        async_add_entities(ledger(link))

    @callback
    def _add_tenant_entities(tenant_id: str) -> None:
        if entities := tenant(link, tenant_id):
            async_add_entities(entities)

    entry.async_on_unload(
        async_dispatcher_connect(hass, signal_new_tenant(entry.entry_id), _add_tenant_entities)
    )
    for tenant_id in link.tenants:
        _add_tenant_entities(tenant_id)
