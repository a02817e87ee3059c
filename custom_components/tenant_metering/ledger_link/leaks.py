"""Leak alarms from the ledger: a moisture binary sensor per watched point, and an event.

The ledger judges each watched point night by night (flow at or above the watch's minimum
through the whole night window) and publishes each point's leak state, retained, on
`{prefix}/ledger/alarms/{point}` (docs/ledger-contract.md); an empty payload means the point is
no longer watched. The sensor is on while the point has an unacknowledged alarm.

`tenant_metering_leak` is fired for each active alarm the first time this Home Assistant run
sees it: live, or retained after a restart of Home Assistant (a reminder of a leak nobody has
acknowledged, never a leak missed while Home Assistant was down). A ledger restart republishes
the same alarm, which fires nothing.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import json
import logging
import re
from typing import Any, Final

from homeassistant.components.binary_sensor import BinarySensorDeviceClass, BinarySensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import EVENT_LEAK

_LOGGER = logging.getLogger(__name__)
_MAX_PAYLOAD: Final = 4096
_POINT_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}", re.ASCII)
_NIGHT: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ALARM_NUMBERS: Final = ("id", "minimum_per_hour", "lowest_per_hour", "volume")


@dataclass(frozen=True, kw_only=True)
class LeakAlarm:
    id: int
    night: str
    minimum_per_hour: int
    lowest_per_hour: int
    volume: int
    acknowledged: bool


@dataclass(frozen=True, kw_only=True)
class LeakState:
    point: str
    active: bool
    window: str
    """The watch's night window, ``23:00-05:00``."""
    alarm: LeakAlarm | None


def _whole(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"{what} must be a whole number, not {value!r:.40}")
    return value


def _alarm(data: Any) -> LeakAlarm | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("alarm must be an object")
    night = data.get("night")
    if not isinstance(night, str) or not _NIGHT.fullmatch(night):
        raise ValueError("alarm night must be a date")
    if type(data.get("acknowledged")) is not bool:
        raise ValueError("alarm acknowledged must be true or false")
    numbers = {key: _whole(data.get(key), f"alarm {key}") for key in _ALARM_NUMBERS}
    return LeakAlarm(night=night, acknowledged=data["acknowledged"], **numbers)


def parse_leak_state(topic_point: str, payload: bytes | str) -> LeakState | None:
    """The point's leak state; None (and a warning) for anything malformed or misaddressed."""
    try:
        if len(payload) > _MAX_PAYLOAD:
            raise ValueError("too long")
        data = json.loads(payload)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        point, active, watch = data.get("point"), data.get("active"), data.get("watch")
        if point != topic_point or not _POINT_ID.fullmatch(topic_point):
            raise ValueError(f"point {point!r:.40} published on the topic of {topic_point!r:.40}")
        if type(active) is not bool:
            raise ValueError("active must be true or false")
        if not isinstance(watch, dict) or not all(
            isinstance(watch.get(key), str) and len(watch[key]) == 5
            for key in ("window_start", "window_end")
        ):
            raise ValueError("watch must name its window")
        alarm = _alarm(data.get("alarm"))
        if active and (alarm is None or alarm.acknowledged):
            raise ValueError("an active state needs its unacknowledged alarm")
    except (ValueError, TypeError, RecursionError) as err:
        _LOGGER.warning("Ignoring a malformed leak state from the ledger: %s", err)
        return None
    window = f"{watch['window_start']}-{watch['window_end']}"
    return LeakState(point=topic_point, active=active, window=window, alarm=alarm)


class LedgerLeaks:
    """Every watched point's newest leak state; new points get an entity, alarms an event."""

    def __init__(self, hass: HomeAssistant, on_new_point: Callable[[str], None]) -> None:
        self.hass = hass
        self.states: dict[str, LeakState] = {}
        self._on_new_point = on_new_point
        self._listeners: dict[str, list[Callable[[], None]]] = {}
        self._announced: set[int] = set()

    @callback
    def update(self, point: str, state: LeakState | None) -> None:
        """A state from the ledger (None: the point is no longer watched)."""
        known = self.states.get(point)
        if state is None:
            self.states.pop(point, None)
        else:
            self.states[point] = state
        if known is None and state is not None:
            self._on_new_point(point)
        elif known != state:
            for listener in list(self._listeners.get(point, ())):
                listener()

    @callback
    def announce(self, point: str, entity_id: str) -> None:
        """Fire the event for the point's active alarm, once per alarm (its sensor calls this
        whenever it writes its state, so the event names an entity that exists)."""
        state = self.states.get(point)
        alarm = None if state is None else state.alarm
        if state is None or not state.active or alarm is None or alarm.id in self._announced:
            return
        self._announced.add(alarm.id)
        self.hass.bus.async_fire(
            EVENT_LEAK,
            {
                "point": point,
                "entity_id": entity_id,
                "alarm_id": alarm.id,
                "night": alarm.night,
                "window": state.window,
                "minimum_per_hour": alarm.minimum_per_hour,
                "lowest_per_hour": alarm.lowest_per_hour,
                "volume": alarm.volume,
            },
        )

    def add_listener(self, point: str, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` when the point's state changes; returns its remover."""
        self._listeners.setdefault(point, []).append(listener)
        return lambda: self._listeners[point].remove(listener)


class LeakBinarySensor(BinarySensorEntity):
    """On (moisture) while the point has a leak alarm nobody has acknowledged."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _attr_translation_key = "leak"
    _attr_device_class = BinarySensorDeviceClass.MOISTURE

    def __init__(
        self, leaks: LedgerLeaks, point: str, unique_id_prefix: str, device_info: DeviceInfo
    ) -> None:
        """Unique id `<prefix>_leak_<point>`; the name says which point."""
        self._leaks = leaks
        self._point = point
        self._attr_unique_id = f"{unique_id_prefix}_leak_{point}"
        self._attr_translation_placeholders = {"point": point}
        self._attr_device_info = device_info

    async def async_added_to_hass(self) -> None:
        self.async_on_remove(self._leaks.add_listener(self._point, self._changed))
        self._leaks.announce(self._point, self.entity_id)

    @callback
    def _changed(self) -> None:
        if self._point not in self._leaks.states:
            # The watch was removed at the ledger: so is its sensor (a new watch adds it again).
            er.async_get(self.hass).async_remove(self.entity_id)
            return
        self.async_write_ha_state()
        self._leaks.announce(self._point, self.entity_id)

    @property
    def available(self) -> bool:
        return self._point in self._leaks.states

    @property
    def is_on(self) -> bool | None:
        state = self._leaks.states.get(self._point)
        return None if state is None else state.active

    @property
    def extra_state_attributes(self) -> Mapping[str, Any]:
        state = self._leaks.states.get(self._point)
        attributes: dict[str, Any] = {"point": self._point}
        if state is None:
            return attributes
        attributes["window"] = state.window
        if state.alarm is not None:
            attributes |= {
                "night": state.alarm.night,
                "minimum_per_hour": state.alarm.minimum_per_hour,
                "lowest_per_hour": state.alarm.lowest_per_hour,
                "volume": state.alarm.volume,
                "acknowledged": state.alarm.acknowledged,
            }
        return attributes
