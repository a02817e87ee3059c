"""Route a breaker's store-and-forward backlog to the statistics of its energy sensor."""

from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from ...identifiers import ChannelEntityKey
from ...statistics import async_import_backlog

# Backlog readings kept per channel while its energy sensor is not there (a week at 1/min).
MAX_WAITING_READINGS: Final = 10_080


class BacklogImporter:
    """Routes backlog readings to the statistic of the channel's energy sensor.

    A backlog can arrive before the energy sensor exists (first message after a restart),
    so readings wait here until the sensor registers its entity id.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        self._hass = hass
        self._entry = entry
        self._entity_ids: dict[str, str] = {}
        self._waiting: dict[str, list[tuple[int, int]]] = {}

    @callback
    def attach(self, key: ChannelEntityKey, entity_id: str) -> None:
        self._entity_ids[key.unique_id] = entity_id
        if waiting := self._waiting.pop(key.unique_id, None):
            self._schedule(entity_id, waiting)

    @callback
    def detach(self, key: ChannelEntityKey) -> None:
        self._entity_ids.pop(key.unique_id, None)
        self._waiting.pop(key.unique_id, None)

    @callback
    def add(self, key: ChannelEntityKey, readings: list[tuple[int, int]]) -> None:
        if (entity_id := self._entity_ids.get(key.unique_id)) is not None:
            self._schedule(entity_id, readings)
            return
        waiting = self._waiting.setdefault(key.unique_id, [])
        waiting.extend(readings)
        # A sensor that never comes (disabled by the user) must not grow memory forever;
        # the newest readings matter most (the oldest hours may already be compiled).
        del waiting[:-MAX_WAITING_READINGS]

    @callback
    def _schedule(self, entity_id: str, readings: list[tuple[int, int]]) -> None:
        self._entry.async_create_task(
            self._hass, async_import_backlog(self._hass, entity_id, readings)
        )
