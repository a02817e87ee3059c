"""The topics of each announced breaker: availability, state, backlog and command acks.

State and backlogs go to the ledger as readings (each ``(ts, seq)`` once) and update what
the entities show (only what is newer than shown, and only the entities whose value changed,
``writers.py``); a field seen for the first time is announced to the hub, which creates its
entity.
"""

from collections.abc import Callable, Iterable, Mapping
import logging
import time
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ...const import signal_device_update
from ...identifiers import KEY_ENERGY, ChannelEntityKey, mqtt_point_id
from ...readings import PointReading, ReadingPublisher
from ...resources import Resource
from . import commands, protocol
from .breaker import SENSOR_FIELDS, Breaker
from .protocol import ChannelState, ProtocolError
from .statistics import BacklogImporter
from .writers import StateWriters

_LOGGER = logging.getLogger(__name__)

MEASUREMENT_KEYS = protocol.MEASUREMENT_FIELDS
# A state message stamped further ahead than this is a wrong device clock, not a reading.
MAX_CLOCK_AHEAD: Final = 86400
# (ts, seq, registers per channel id) of one state message.
type DeviceReadings = tuple[int, int | None, Mapping[str, ChannelState]]


class MalformedLog:
    """Logs a malformed payload once per device and message kind, then stays quiet."""

    def __init__(self) -> None:
        self._warned: set[tuple[str, str]] = set()

    @callback
    def __call__(self, device_id: str, kind: str, err: Exception) -> None:
        if (device_id, kind) in self._warned:
            _LOGGER.debug("Ignoring malformed %s from %s: %s", kind, device_id, err)
            return
        self._warned.add((device_id, kind))
        _LOGGER.warning(
            "Ignoring malformed %s from breaker %s: %s (further ones are logged at debug level)",
            kind,
            device_id,
            err,
        )


class BreakerTopics:
    """Subscribes to each breaker's topics and handles what arrives on them."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        breakers: Mapping[str, Breaker],
        *,
        announce: Callable[[Breaker, Iterable[ChannelEntityKey]], None],
        publisher: ReadingPublisher,
        importer: BacklogImporter,
        malformed: MalformedLog,
        writers: StateWriters,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self._breakers = breakers
        self._announce = announce
        self._publisher = publisher
        self._importer = importer
        self._malformed = malformed
        self._writers = writers

    @callback
    def subscribe(self, breaker: Breaker) -> None:
        """Follow the breaker's topics under its announced base topic."""
        base = breaker.config.base_topic
        handlers: dict[str, Callable[[Breaker, ReceiveMessage], None]] = {
            "availability": self._on_availability,
            "state": self._on_state,
            "backlog": self._on_backlog,
            "ack": self._on_ack,
        }
        for suffix, handler in handlers.items():

            @callback
            def _handle(
                msg: ReceiveMessage,
                handler: Callable[[Breaker, ReceiveMessage], None] = handler,
            ) -> None:
                handler(breaker, msg)

            # mqtt.async_subscribe is a coroutine that subscribes synchronously in its first
            # step; the internal variant would spare the task, but is not a stable API.
            self.entry.async_create_task(
                self.hass, self._subscribe_topic(breaker, f"{base}/{suffix}", _handle)
            )

    async def _subscribe_topic(
        self, breaker: Breaker, topic: str, handler: Callable[[ReceiveMessage], None]
    ) -> None:
        unsubscribe = await mqtt.async_subscribe(self.hass, topic, handler, 1)
        if self._breakers.get(breaker.config.device_id) is breaker and (
            topic.startswith(breaker.config.base_topic + "/")
        ):
            breaker.unsubscribers.append(unsubscribe)
        else:  # the breaker went away or moved while we subscribed
            unsubscribe()

    @callback
    def _on_availability(self, breaker: Breaker, msg: ReceiveMessage) -> None:
        payload = msg.payload.decode() if isinstance(msg.payload, bytes) else msg.payload
        if payload not in ("online", "offline"):
            self._malformed(breaker.config.device_id, "availability", ProtocolError(payload))
            return
        online = payload == "online"
        if breaker.online is not None and online != breaker.online:
            _LOGGER.info("Breaker %s is %s", breaker.config.name, payload)
        if online and breaker.online is not True:
            # A device coming (back) online may have rebooted: its seq restarts and its
            # clock may have been wrong before; order afresh from its next message.
            breaker.last_ts = None
            breaker.last_seq = None
        breaker.online = online
        async_dispatcher_send(
            self.hass, signal_device_update(self.entry.entry_id, breaker.config.device_id)
        )

    @callback
    def _on_state(self, breaker: Breaker, msg: ReceiveMessage) -> None:
        device_id = breaker.config.device_id
        try:
            message = protocol.parse_state(msg.payload)
        except ProtocolError as err:
            self._malformed(device_id, "state", err)
            return
        if message.ts > time.time() + MAX_CLOCK_AHEAD:
            self._malformed(
                device_id,
                "timestamp",
                ProtocolError(f"'ts' {message.ts} is in the future; is the device's clock set?"),
            )
            return
        if not breaker.seen.add(message.ts, message.seq):
            return
        channels = breaker.known_channels(message)
        self._publish(device_id, [(message.ts, message.seq, channels)])
        if not breaker.is_newer(message):
            return  # late delivery: forwarded to the ledger, but not newer than what we show
        breaker.last_ts = message.ts
        breaker.last_seq = message.seq
        if breaker.online is None:
            breaker.online = True  # a device that talks is up until its LWT says otherwise
        writes: list[CALLBACK_TYPE] = []
        appeared: list[ChannelEntityKey] = []
        for channel_id, state in channels.items():
            if not (keys := breaker.update_channel(channel_id, state)):
                continue
            unique_ids = breaker.unique_ids(channel_id)
            for key in keys:
                unique_id = unique_ids[key]
                if (write := self._writers.get(unique_id)) is not None:
                    writes.append(write)
                elif (
                    (field := SENSOR_FIELDS.get(key)) is not None
                    and getattr(state, field) is not None
                    and unique_id not in breaker.entity_keys
                ):
                    appeared.append(
                        ChannelEntityKey(device_id=device_id, channel_id=channel_id, key=key)
                    )
        if appeared:
            self._announce(breaker, appeared)  # written as they join HA
        for write in writes:
            write()

    @callback
    def _on_backlog(self, breaker: Breaker, msg: ReceiveMessage) -> None:
        device_id = breaker.config.device_id
        try:
            messages = protocol.parse_backlog(msg.payload)
        except ProtocolError as err:
            self._malformed(device_id, "backlog", err)
            return
        fresh = [m for m in messages if breaker.seen.add(m.ts, m.seq)]
        if not fresh:
            return
        registers: dict[str, list[tuple[int, int]]] = {}
        batch = [(m.ts, m.seq, breaker.known_channels(m)) for m in fresh]
        self._publish(device_id, batch)
        for ts, _, channels in batch:
            for channel_id, state in channels.items():
                registers.setdefault(channel_id, []).append((ts, state.energy_wh))
        energy_keys = {
            channel_id: ChannelEntityKey(device_id=device_id, channel_id=channel_id, key=KEY_ENERGY)
            for channel_id in registers
        }
        self._announce(breaker, energy_keys.values())
        for channel_id, readings in registers.items():
            self._importer.add(energy_keys[channel_id], readings)

    @callback
    def _publish(self, device_id: str, messages: Iterable[DeviceReadings]) -> None:
        """Send the registers of one state message, or of a whole backlog, as one batch."""
        self._publisher.publish_points(
            PointReading(
                point=mqtt_point_id(device_id, channel_id),
                ts=ts,
                resource=Resource.ELECTRICITY,
                register=state.energy_wh,
                seq=seq,
            )
            for ts, seq, channels in messages
            for channel_id, state in channels.items()
        )

    @callback
    def _on_ack(self, breaker: Breaker, msg: ReceiveMessage) -> None:
        try:
            ack = protocol.parse_ack(msg.payload)
        except ProtocolError as err:
            self._malformed(breaker.config.device_id, "ack", err)
            return
        commands.resolve(breaker, ack)
