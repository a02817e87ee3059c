"""Base entities: one per metering channel (MQTT breaker or Modbus meter), one per tenant.

Channel entities of both sources share one base: the same entity descriptions read the same
measurement fields from either an MQTT state message or a Modbus reading (``ChannelValues``),
and the relay switch calls the same two methods whichever way the relay is reached.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .compat import via_device
from .const import (
    DOMAIN,
    LEDGER_UNIQUE_ID,
    signal_device_update,
    signal_ledger_availability,
    signal_new_channel_entity,
    signal_new_tenant,
    signal_tenant_update,
)
from .gateway import ModbusCoordinator, ModbusGateway, ModbusMeter
from .hub import ChannelEntityKey, MqttHub
from .modbus import ChannelSpec
from .protocol import RelayState

if TYPE_CHECKING:
    from .coordinator import LedgerLink, TenantState


class ChannelValues(Protocol):
    """The measurements of one channel at one moment; None where unknown."""

    @property
    def energy_wh(self) -> int | None: ...
    @property
    def voltage(self) -> float | None: ...
    @property
    def current(self) -> float | None: ...
    @property
    def power(self) -> float | None: ...
    @property
    def power_factor(self) -> float | None: ...
    @property
    def frequency(self) -> float | None: ...


class ChannelEntity(Entity):
    """An entity of one metering channel; unique id ``{device_id}_{channel_id}_{key}``."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    key: ChannelEntityKey

    def _set_channel(
        self, key: ChannelEntityKey, description: EntityDescription, device_info: DeviceInfo
    ) -> None:
        self.key = key
        self.entity_description = description
        self._attr_unique_id = key.unique_id
        self._attr_device_info = device_info

    @property
    def channel_values(self) -> ChannelValues | None:
        """The channel's latest measurements."""
        raise NotImplementedError

    @property
    def relay_on(self) -> bool | None:
        """The relay as the device last confirmed it."""
        raise NotImplementedError

    async def async_send_relay(self, relay: RelayState) -> None:
        """Switch the relay; raises HomeAssistantError unless the device confirms."""
        raise NotImplementedError


class BreakerChannelEntity(ChannelEntity):
    """A channel of an MQTT breaker, updated by the hub's dispatcher signal."""

    def __init__(self, hub: MqttHub, key: ChannelEntityKey, description: EntityDescription) -> None:
        self.hub = hub
        self._set_channel(key, description, hub.channel_device_info(key.device_id, key.channel_id))

    @property
    def channel_values(self) -> ChannelValues | None:
        return self.hub.channel_state(self.key.device_id, self.key.channel_id)

    @property
    def relay_on(self) -> bool | None:
        relay = self.hub.relay(self.key.device_id, self.key.channel_id)
        return None if relay is None else relay == "on"

    async def async_send_relay(self, relay: RelayState) -> None:
        await self.hub.async_set_relay(self.key.device_id, self.key.channel_id, relay)

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


class ModbusChannelEntity(CoordinatorEntity[ModbusCoordinator], ChannelEntity):
    """A channel of a Modbus meter, updated by its gateway's coordinator."""

    def __init__(
        self,
        gateway: ModbusGateway,
        meter: ModbusMeter,
        channel_id: str,
        description: EntityDescription,
    ) -> None:
        super().__init__(gateway.coordinator)
        self.gateway = gateway
        self.meter = meter
        self._set_channel(
            ChannelEntityKey(device_id=meter.device_id, channel_id=channel_id, key=description.key),
            description,
            gateway.channel_device_info(meter, channel_id),
        )

    @property
    def channel_values(self) -> ChannelValues | None:
        return self.gateway.channel_reading(self.meter.subentry_id, self.key.channel_id)

    @property
    def relay_on(self) -> bool | None:
        reading = self.gateway.channel_reading(self.meter.subentry_id, self.key.channel_id)
        return None if reading is None else reading.relay

    async def async_send_relay(self, relay: RelayState) -> None:
        await self.gateway.async_set_relay(self.meter, self.key.channel_id, relay)

    @property
    def available(self) -> bool:
        """Unavailable while the bus is down or the meter does not answer."""
        return super().available and self.channel_values is not None


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
        ) | via_device(link.hass, link.entry.entry_id, (DOMAIN, LEDGER_UNIQUE_ID))

    @property
    def tenant(self) -> "TenantState | None":
        return self.link.tenants.get(self.tenant_id)

    @property
    def available(self) -> bool:
        """Unavailable while the ledger is not trusted: a stale status must never cut power."""
        return self.tenant is not None and self.link.trusted

    async def async_added_to_hass(self) -> None:
        for signal in (
            signal_tenant_update(self.link.entry.entry_id, self.tenant_id),
            signal_ledger_availability(self.link.entry.entry_id),
        ):
            self.async_on_remove(async_dispatcher_connect(self.hass, signal, self._handle_update))

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
    modbus: Callable[[ModbusGateway, ModbusMeter, ChannelSpec], list[Entity]] | None = None,
) -> None:
    """Add a platform's entities as the hub announces channel fields or the ledger tenants.

    ``ledger`` gives the entities of the ledger device itself, added once; ``modbus`` the
    entities of one Modbus meter channel, added with the meter's config subentry.
    """
    runtime = entry.runtime_data
    if isinstance(runtime, ModbusGateway):
        for meter in runtime.meters.values():
            entities = [
                entity
                for channel in meter.poller.channels
                for entity in (modbus(runtime, meter, channel) if modbus else [])
            ]
            async_add_entities(entities, config_subentry_id=meter.subentry_id)
        return
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
