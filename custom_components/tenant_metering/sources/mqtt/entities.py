"""Entities of MQTT breaker channels: the hub's state, written when their own field changed
(``writers.py``) or when their whole device did (its dispatcher signal)."""

from typing import TYPE_CHECKING

from homeassistant.const import Platform
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription

from ...const import RelayState, signal_device_update
from ...entity import (
    CHANNEL_SENSORS_BY_KEY,
    RELAY_SWITCH,
    ChannelEntity,
    ChannelSensor,
    ChannelValues,
    RelaySwitch,
)
from ...identifiers import KEY_ENERGY, KEY_RELAY, ChannelEntityKey

if TYPE_CHECKING:
    from .hub import MqttHub


class BreakerChannelEntity(ChannelEntity):
    """A channel of an MQTT breaker, written when its value or its device changed."""

    def __init__(
        self, hub: "MqttHub", key: ChannelEntityKey, description: EntityDescription
    ) -> None:
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
        self.async_on_remove(self.hub.writers.add(self.key.unique_id, self.async_write_ha_state))
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


class BreakerChannelSensor(BreakerChannelEntity, ChannelSensor):
    """A measurement of one breaker channel (a field the breaker may leave out: unknown)."""

    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        if self.entity_description.key == KEY_ENERGY:
            # Backlogs become long-term statistics of this sensor (statistics.py).
            self.hub.importer.attach(self.key, self.entity_id)
            self.async_on_remove(lambda: self.hub.importer.detach(self.key))


class BreakerRelaySwitch(BreakerChannelEntity, RelaySwitch):
    """The relay of a breaker channel: a command, then the breaker's ack."""


def channel_entities(hub: "MqttHub", key: ChannelEntityKey, platform: Platform) -> list[Entity]:
    """The entity of ``platform`` for an announced channel field, if that platform has one."""
    if platform is Platform.SENSOR and (description := CHANNEL_SENSORS_BY_KEY.get(key.key)):
        return [BreakerChannelSensor(hub, key, description)]
    if platform is Platform.SWITCH and key.key == KEY_RELAY:
        return [BreakerRelaySwitch(hub, key, RELAY_SWITCH)]
    return []
