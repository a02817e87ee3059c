"""Entities of a metering channel, whichever source measures it (MQTT breaker, Modbus meter).

Channel entities of both sources share one base: the same entity descriptions read the same
measurement fields from either an MQTT state message or a Modbus reading (``ChannelValues``),
and the relay switch calls the same two methods whichever way the relay is reached. Each
source (``sources/mqtt/entities.py``, ``sources/modbus/entities.py``) says where the values
come from and how the relay is reached.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.const import (
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
)
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.typing import StateType

from .const import EVENT_COMMAND_FAILED, RelayState
from .identifiers import KEY_ENERGY, KEY_RELAY, ChannelEntityKey
from .permissions import async_require_admin
from .units import kwh

type SensorValue = StateType | Decimal | datetime


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
    """An entity of one metering channel; its unique id is its ``ChannelEntityKey``'s."""

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


@dataclass(frozen=True, kw_only=True)
class ChannelSensorEntityDescription(SensorEntityDescription):
    """A channel measurement; ``value_fn`` reads it from the channel's latest values."""

    value_fn: Callable[[ChannelValues], SensorValue]


CHANNEL_SENSORS: tuple[ChannelSensorEntityDescription, ...] = (
    ChannelSensorEntityDescription(
        key="voltage",
        translation_key="voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=1,
        value_fn=lambda state: state.voltage,
    ),
    ChannelSensorEntityDescription(
        key="current",
        translation_key="current",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=2,
        value_fn=lambda state: state.current,
    ),
    ChannelSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=lambda state: state.power,
    ),
    ChannelSensorEntityDescription(
        key=KEY_ENERGY,
        translation_key="energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=3,
        value_fn=lambda state: None if state.energy_wh is None else kwh(state.energy_wh),
    ),
    ChannelSensorEntityDescription(
        key="power_factor",
        translation_key="power_factor",
        device_class=SensorDeviceClass.POWER_FACTOR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda state: state.power_factor,
    ),
    ChannelSensorEntityDescription(
        key="frequency",
        translation_key="frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_display_precision=2,
        value_fn=lambda state: state.frequency,
    ),
)
CHANNEL_SENSORS_BY_KEY = {description.key: description for description in CHANNEL_SENSORS}

RELAY_SWITCH = SwitchEntityDescription(
    key=KEY_RELAY, translation_key="relay", device_class=SwitchDeviceClass.SWITCH
)


class ChannelSensor(ChannelEntity, SensorEntity):
    """A measurement of one channel, whichever source it comes from."""

    entity_description: ChannelSensorEntityDescription

    @property
    def native_value(self) -> SensorValue:
        values = self.channel_values
        return None if values is None else self.entity_description.value_fn(values)


class RelaySwitch(ChannelEntity, SwitchEntity):
    """A channel's relay, showing only what the device confirmed."""

    @property
    def is_on(self) -> bool | None:
        return self.relay_on

    async def _set(self, relay: RelayState) -> None:
        try:
            await self.async_send_relay(relay)
        except HomeAssistantError as err:
            # Automations (the breaker_alert blueprint) learn about it even when nobody
            # watches the call that failed, e.g. a cut-off at night.
            self.hass.bus.async_fire(
                EVENT_COMMAND_FAILED,
                {
                    "entity_id": self.entity_id,
                    "device_id": self.key.device_id,
                    "channel": self.key.channel_id,
                    "relay": relay,
                    "error": str(err),
                },
            )
            raise

    async def async_turn_on(self, **kwargs: Any) -> None:
        await async_require_admin(self.hass, self._context)
        await self._set("on")

    async def async_turn_off(self, **kwargs: Any) -> None:
        await async_require_admin(self.hass, self._context)
        await self._set("off")
