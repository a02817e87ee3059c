"""Publish canonical register readings to the ledger (docs/ledger-contract.md, "Readings")."""

from collections.abc import Iterable
from dataclasses import dataclass
import logging
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
import orjson

from .const import CONF_KIND, CONF_PREFIX, DEFAULT_PREFIX, DOMAIN, KIND_LEDGER
from .resources import Resource, reading_key

_LOGGER = logging.getLogger(__name__)

# Large backlogs go out in several messages, each well below typical broker limits.
MAX_READINGS_PER_MESSAGE: Final = 500
# Readings contract v2: a reading's register is energy_wh (electricity, heat) or volume_l
# (water, gas). The ledger still accepts v1 (no "v", energy_wh only) from older publishers.
CONTRACT_VERSION: Final = 2


@dataclass(frozen=True, kw_only=True)
class PointReading:
    """One register reading of any metering point (MQTT, Modbus, adopted): the integer
    cumulative register, in the unit of the point's resource (Wh or L)."""

    point: str
    ts: int
    resource: Resource
    register: int
    seq: int | None = None

    def body(self) -> dict[str, Any]:
        """The reading as the readings contract (v2) carries it."""
        body: dict[str, Any] = {
            "point": self.point,
            "ts": self.ts,
            reading_key(self.resource): self.register,
        }
        if self.seq is not None:
            body["seq"] = self.seq
        return body


def readings_payload(readings: list[dict[str, Any]]) -> str:
    # orjson (HA's own JSON library) writes the same compact JSON several times faster.
    return orjson.dumps({"v": CONTRACT_VERSION, "readings": readings}).decode()


def readings_prefix(hass: HomeAssistant, own_prefix: str | None = None) -> str:
    """The topic prefix readings go to: the ledger link's when there is a ledger entry,
    else the source's own (an MQTT hub's), else the default.

    Resolved at every publish, so a ledger linked later (or on another prefix) gets the
    readings of every source without a reload.
    """
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_KIND) == KIND_LEDGER:
            return str(entry.data.get(CONF_PREFIX) or DEFAULT_PREFIX)
    return own_prefix or DEFAULT_PREFIX


class ReadingPublisher:
    """Sends register readings in QoS 1 batches on ``{prefix}/readings`` (``readings_prefix``).

    Remembers the newest ``ts`` sent per point so an identical (point, ts) is not re-sent;
    older readings (backlogs) still go out, and the ledger stores each (point, ts) once.
    """

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], own_prefix: str | None = None
    ) -> None:
        self._hass = hass
        self._entry = entry
        self._own_prefix = own_prefix
        self._last_ts: dict[str, int] = {}

    @property
    def topic(self) -> str:
        return f"{readings_prefix(self._hass, self._own_prefix)}/readings"

    @callback
    def publish_points(self, points: Iterable[PointReading]) -> None:
        """Publish readings of any source as one batch (split above the message limit)."""
        readings: list[dict[str, Any]] = []
        for reading in points:
            last = self._last_ts.get(reading.point)
            if last == reading.ts:
                continue
            if last is None or reading.ts > last:
                self._last_ts[reading.point] = reading.ts
            readings.append(reading.body())
        if not readings:
            return  # all sent already (a repeated message): not even the topic to look up
        topic = self.topic
        for start in range(0, len(readings), MAX_READINGS_PER_MESSAGE):
            batch = readings[start : start + MAX_READINGS_PER_MESSAGE]
            self._entry.async_create_task(
                self._hass, self._send(topic, readings_payload(batch)), eager_start=True
            )

    async def _send(self, topic: str, payload: str) -> None:
        try:
            await mqtt.async_publish(self._hass, topic, payload, 1, False)
        except HomeAssistantError as err:
            _LOGGER.warning("Could not publish readings to the ledger: %s", err)
