"""Entities of Modbus meter channels, updated by their gateway's coordinator."""

from typing import TYPE_CHECKING

from homeassistant.const import Platform
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from ...const import RelayState
from ...entity import (
    CHANNEL_SENSORS_BY_KEY,
    RELAY_SWITCH,
    ChannelEntity,
    ChannelSensor,
    ChannelValues,
    RelaySwitch,
)
from ...identifiers import ChannelEntityKey
from .coordinator import ModbusCoordinator
from .core import ChannelSpec

if TYPE_CHECKING:
    from .gateway import ModbusGateway, ModbusMeter


class ModbusChannelEntity(CoordinatorEntity[ModbusCoordinator], ChannelEntity):
    """A channel of a Modbus meter, updated by its gateway's coordinator."""

    def __init__(
        self,
        gateway: "ModbusGateway",
        meter: "ModbusMeter",
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


class ModbusChannelSensor(ModbusChannelEntity, ChannelSensor):
    """A measurement of one Modbus meter channel.

    Every poll reads every register, so a missing value is a failed or implausible read
    (NaN, out of range, a rejected energy spike): unavailable, never zero.
    """

    @property
    def available(self) -> bool:
        return super().available and self.native_value is not None


class ModbusRelaySwitch(ModbusChannelEntity, RelaySwitch):
    """The relay of a Modbus meter channel: a confirmed write, then a poll reads it back."""


def channel_entities(
    gateway: "ModbusGateway", meter: "ModbusMeter", channel: ChannelSpec, platform: Platform
) -> list[Entity]:
    """The entities of ``platform`` for one channel of a meter, as its profile defines it."""
    if platform is Platform.SENSOR:
        return [
            ModbusChannelSensor(
                gateway, meter, channel.channel_id, CHANNEL_SENSORS_BY_KEY[spec.quantity]
            )
            for spec in channel.values
        ]
    if platform is Platform.SWITCH and channel.relay is not None:
        return [ModbusRelaySwitch(gateway, meter, channel.channel_id, RELAY_SWITCH)]
    return []
