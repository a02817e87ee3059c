"""Publish canonical register readings to the ledger (docs/ledger-contract.md, "Readings")."""

from collections.abc import Iterable, Mapping
import json
import logging
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from .protocol import ChannelState, point_id

_LOGGER = logging.getLogger(__name__)

# Large backlogs go out in several messages, each well below typical broker limits.
MAX_READINGS_PER_MESSAGE: Final = 500


# (ts, seq, registers per channel id) of one state message.
type DeviceReadings = tuple[int, int | None, Mapping[str, ChannelState]]


def readings_payload(readings: list[dict[str, Any]]) -> str:
    return json.dumps({"readings": readings}, separators=(",", ":"))


class ReadingPublisher:
    """Sends each state message's registers as one QoS 1 batch on ``{prefix}/readings``.

    Remembers the newest ``ts`` sent per point so an identical (point, ts) is not re-sent;
    older readings (backlogs) still go out, and the ledger stores each (point, ts) once.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any], prefix: str) -> None:
        self._hass = hass
        self._entry = entry
        self.topic = f"{prefix}/readings"
        self._last_ts: dict[str, int] = {}

    @callback
    def publish(self, device_id: str, messages: Iterable[DeviceReadings]) -> None:
        """Publish the registers of one state message, or of a whole backlog, as one batch."""
        readings: list[dict[str, Any]] = []
        for ts, seq, channels in messages:
            for channel_id, state in channels.items():
                point = point_id(device_id, channel_id)
                last = self._last_ts.get(point)
                if last == ts:
                    continue
                if last is None or ts > last:
                    self._last_ts[point] = ts
                reading: dict[str, Any] = {"point": point, "ts": ts, "energy_wh": state.energy_wh}
                if seq is not None:
                    reading["seq"] = seq
                readings.append(reading)
        for start in range(0, len(readings), MAX_READINGS_PER_MESSAGE):
            batch = readings[start : start + MAX_READINGS_PER_MESSAGE]
            self._entry.async_create_task(
                self._hass, self._send(readings_payload(batch)), eager_start=True
            )

    async def _send(self, payload: str) -> None:
        try:
            await mqtt.async_publish(self._hass, self.topic, payload, 1, False)
        except HomeAssistantError as err:
            _LOGGER.warning("Could not publish readings to the ledger: %s", err)
