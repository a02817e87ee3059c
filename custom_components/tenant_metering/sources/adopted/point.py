"""An adopted HA meter sensor (Shelly, Tasmota, Zigbee2MQTT, ESPHome, wmbusmeters, …) as a
metering point: electricity or heat (device class energy), water or gas.

Each state change of the sensor is one register reading for the ledger, point id
``ha:{entity registry id}``: the registry's UUID stays the same when the entity id is renamed,
so the point (and the tenant it is assigned to) survives renames. The state string is
converted exactly to the resource's integer register, Wh or L (``register.py``);
unavailable/unknown states and other units are skipped. A decrease is published like any
other reading: the ledger treats it as a counter reset.
"""

from dataclasses import asdict
import logging
from typing import Any, Self

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import (
    async_track_entity_registry_updated_event,
    async_track_state_change_event,
)

from ...const import CONF_RESOURCE, CONF_SENSOR, CONF_SWITCH
from ...energy import EnergyDevice
from ...identifiers import adopted_point_id
from ...readings import PointReading, ReadingPublisher
from ...resources import Resource
from .register import Skipped, register_of

_LOGGER = logging.getLogger(__name__)


class AdoptedPoint:
    """Runtime of an ``adopted`` config entry (a ``SourceRuntime``): follows the sensor,
    publishes its readings. Its entities and device are the adopted sensor's own."""

    platforms: tuple[Platform, ...] = ()

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        self.hass = hass
        self.entry = entry
        self.registry_id: str = entry.data[CONF_SENSOR]
        self.point = adopted_point_id(self.registry_id)
        # Entries adopted before there were other resources are electricity.
        self.resource = Resource(entry.data.get(CONF_RESOURCE, Resource.ELECTRICITY))
        self.publisher = ReadingPublisher(hass, entry)
        self.entity_id: str | None = None
        self.last_reading: PointReading | None = None
        self._unsubscribers: list[CALLBACK_TYPE] = []
        self._warned_unit: str | None = None

    @classmethod
    async def async_create(cls, hass: HomeAssistant, entry: ConfigEntry[Any]) -> Self:
        return cls(hass, entry)

    @property
    def switch_entity_id(self) -> str | None:
        """The switch the tenant's supply switch toggles for this point, if any."""
        switch = self.entry.data.get(CONF_SWITCH)
        return er.async_resolve_entity_id(er.async_get(self.hass), switch) if switch else None

    async def async_prepare(self) -> None:
        """Nothing to prepare: the sensor is followed from the start."""

    async def async_start(self) -> None:
        self._track()

    @callback
    def async_stop(self) -> None:
        self._untrack()

    @callback
    def _untrack(self) -> None:
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    @callback
    def _track(self) -> None:
        """(Re)subscribe to the sensor under its current entity id and publish its state."""
        self._untrack()
        entity_id = er.async_resolve_entity_id(er.async_get(self.hass), self.registry_id)
        self.entity_id = entity_id
        if entity_id is None:
            _LOGGER.warning("%s: the adopted sensor was removed from Home Assistant", self.point)
            return
        self._unsubscribers = [
            async_track_state_change_event(self.hass, entity_id, self._on_state),
            async_track_entity_registry_updated_event(self.hass, entity_id, self._on_registry),
        ]
        if (state := self.hass.states.get(entity_id)) is not None:
            self._publish(state)

    @callback
    def _on_registry(self, event: Event[er.EventEntityRegistryUpdatedData]) -> None:
        if event.data["action"] == "remove" or (
            event.data["action"] == "update" and "entity_id" in event.data["changes"]
        ):
            self._track()

    @callback
    def _on_state(self, event: Event[EventStateChangedData]) -> None:
        if (state := event.data["new_state"]) is not None:
            self._publish(state)

    @callback
    def _publish(self, state: State) -> None:
        unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
        register = register_of(state.state, unit, self.resource)
        if isinstance(register, Skipped):
            if state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN) and unit != self._warned_unit:
                self._warned_unit = unit
                _LOGGER.warning(
                    "%s: %s = %r %s is not a %s reading (%s); skipped",
                    self.point,
                    state.entity_id,
                    state.state,
                    unit,
                    self.resource,
                    register.why,
                )
            return
        reading = PointReading(
            point=self.point,
            ts=int(state.last_updated_timestamp),
            resource=self.resource,
            register=register,
        )
        self.last_reading = reading
        self.publisher.publish_points([reading])

    # -- SourceRuntime ---------------------------------------------------------------------

    def async_add_platform_entities(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """None: the adopted sensor and its switch are another integration's entities."""

    def known_device_identifiers(self) -> set[str]:
        return set()

    def diagnostics(self) -> dict[str, Any]:
        reading = self.last_reading
        return {
            "adopted": {
                "point": self.point,
                "resource": self.resource,
                "entity_id": self.entity_id,
                "switch": self.switch_entity_id,
                "last_reading": asdict(reading) if reading else None,
            }
        }

    def energy_devices(self) -> list[EnergyDevice]:
        if self.entity_id is None:
            return []
        if self.resource is Resource.HEAT:
            return []  # the energy dashboard has no place for heat (energy.py)
        return [
            EnergyDevice(
                stat_consumption=self.entity_id, name=self.entry.title, resource=self.resource
            )
        ]
