"""The MQTT breaker hub: discovery, device registry, state, availability, commands, backlog.

One hub per topic prefix (one config entry). It subscribes to
``{prefix}/discovery/+/config`` itself, so breakers announced after setup join the same
entry without new config flows. Entities are created lazily: the hub announces a
``(device, channel, key)`` through a dispatcher signal the first time a field shows up.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
import logging
import time
from typing import TYPE_CHECKING, Any, Final
import uuid

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_send

from . import protocol
from .backlog import SeenMessages
from .compat import (
    async_get_entry_device,
    async_remove_entry_device,
    via_device,
    via_device_kwargs,
)
from .const import ACK_TIMEOUT, DOMAIN, signal_device_update, signal_new_channel_entity
from .protocol import (
    Ack,
    ChannelState,
    DeviceConfig,
    ProtocolError,
    RelayState,
    StateMessage,
)
from .readings import ReadingPublisher

if TYPE_CHECKING:
    from .statistics import BacklogImporter

_LOGGER = logging.getLogger(__name__)

# Entity keys per channel; which platform owns a key is up to the platforms.
KEY_ENERGY = "energy"
KEY_RELAY = "relay"
MEASUREMENT_KEYS = protocol.MEASUREMENT_FIELDS
# A state message stamped further ahead than this is a wrong device clock, not a reading.
MAX_CLOCK_AHEAD: Final = 86400


@dataclass(frozen=True, kw_only=True)
class ChannelEntityKey:
    """Identifies one channel entity; also its unique id."""

    device_id: str
    channel_id: str
    key: str

    @property
    def unique_id(self) -> str:
        return f"{self.device_id}_{self.channel_id}_{self.key}"


def channel_identifier(device_id: str, channel_id: str) -> tuple[str, str]:
    return (DOMAIN, f"{device_id}_{channel_id}")


@dataclass(kw_only=True)
class Breaker:
    """What the hub knows about one announced breaker."""

    config: DeviceConfig
    online: bool | None = None
    states: dict[str, ChannelState] = field(default_factory=dict)
    relays: dict[str, RelayState] = field(default_factory=dict)  # as the device confirmed
    last_ts: int | None = None
    last_seq: int | None = None
    entity_keys: set[str] = field(default_factory=set)  # unique ids announced so far
    pending: dict[str, asyncio.Future[Ack]] = field(default_factory=dict)
    seen: SeenMessages = field(default_factory=SeenMessages)
    unsubscribers: list[CALLBACK_TYPE] = field(default_factory=list)

    def channel_device_info(self, channel_id: str) -> DeviceInfo:
        """The channel's device, without its link to the breaker (``MqttHub`` adds it)."""
        channel = next(c for c in self.config.channels if c.id == channel_id)
        return DeviceInfo(
            identifiers={channel_identifier(self.config.device_id, channel_id)},
            name=channel.name,
            manufacturer=self.config.manufacturer,
            model="Breaker channel",
        )


class MqttHub:
    """Runtime of the ``mqtt_hub`` config entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        prefix: str,
        importer: "BacklogImporter",
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.prefix = prefix
        self.breakers: dict[str, Breaker] = {}
        self.publisher = ReadingPublisher(hass, entry, prefix)
        self.importer = importer
        self._discovery_unsubscribe: CALLBACK_TYPE | None = None
        self._warned: set[tuple[str, str]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    async def async_start(self) -> None:
        self._discovery_unsubscribe = await mqtt.async_subscribe(
            self.hass,
            f"{self.prefix}/{protocol.DISCOVERY_SEGMENT}/+/{protocol.CONFIG_SUFFIX}",
            self._on_discovery,
            1,
        )

    @callback
    def async_stop(self) -> None:
        if self._discovery_unsubscribe is not None:
            self._discovery_unsubscribe()
            self._discovery_unsubscribe = None
        for breaker in self.breakers.values():
            self._stop_breaker(breaker)
        self.breakers.clear()

    @callback
    def _stop_breaker(self, breaker: Breaker) -> None:
        for unsubscribe in breaker.unsubscribers:
            unsubscribe()
        breaker.unsubscribers.clear()
        # Commands in flight fail like any unconfirmed command (the caller and the
        # command-failed event learn about it), never as a bare cancellation.
        for future in breaker.pending.values():
            if not future.done():
                future.set_exception(
                    HomeAssistantError(
                        translation_domain=DOMAIN,
                        translation_key="device_removed",
                        translation_placeholders={"name": breaker.config.name},
                    )
                )
        breaker.pending.clear()

    # -- malformed payloads ----------------------------------------------------------------

    @callback
    def _malformed(self, device_id: str, kind: str, err: Exception) -> None:
        """Log a malformed payload once per device and message kind, then stay quiet."""
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

    # -- discovery -------------------------------------------------------------------------

    @callback
    def _on_discovery(self, msg: ReceiveMessage) -> None:
        device_id = protocol.discovery_device_id(msg.topic, self.prefix)
        if device_id is None:
            return
        if not msg.payload:
            self._remove_breaker(device_id)
            return
        try:
            config = protocol.parse_discovery(msg.payload)
        except ProtocolError as err:
            self._malformed(device_id, "discovery", err)
            return
        if config.device_id != device_id:
            self._malformed(device_id, "discovery", ProtocolError("device_id does not match topic"))
            return
        breaker = self.breakers.get(device_id)
        if breaker is None:
            self._add_breaker(config)
        elif breaker.config != config:
            self._update_breaker(breaker, config)

    @callback
    def _register_devices(self, config: DeviceConfig) -> None:
        registry = dr.async_get(self.hass)
        breaker_device = registry.async_get_or_create(
            config_entry_id=self.entry.entry_id,
            identifiers={(DOMAIN, config.device_id)},
            name=config.name,
            manufacturer=config.manufacturer,
            model=config.model,
            sw_version=config.sw_version,
        )
        for channel in config.channels:
            registry.async_get_or_create(
                config_entry_id=self.entry.entry_id,
                identifiers={channel_identifier(config.device_id, channel.id)},
                name=channel.name,
                manufacturer=config.manufacturer,
                model="Breaker channel",
                **via_device_kwargs(breaker_device, (DOMAIN, config.device_id)),
            )

    @callback
    def _add_breaker(self, config: DeviceConfig) -> None:
        breaker = Breaker(config=config)
        self.breakers[config.device_id] = breaker
        self._register_devices(config)
        self._subscribe(breaker)
        self._announce_known_entities(breaker)

    @callback
    def _update_breaker(self, breaker: Breaker, config: DeviceConfig) -> None:
        old = breaker.config
        breaker.config = config
        self._register_devices(config)
        for channel_id in old.channel_ids() - config.channel_ids():
            self._remove_channel(breaker, channel_id)
        relays = {channel.id for channel in config.channels if channel.relay}
        for channel in old.channels:
            if channel.relay and channel.id in config.channel_ids() - relays:
                self._remove_relay(breaker, channel.id)
        if old.base_topic != config.base_topic:
            self._stop_breaker(breaker)
            self._subscribe(breaker)
        self._announce_known_entities(breaker)
        async_dispatcher_send(
            self.hass, signal_device_update(self.entry.entry_id, config.device_id)
        )

    @callback
    def _remove_channel(self, breaker: Breaker, channel_id: str) -> None:
        device_id = breaker.config.device_id
        breaker.states.pop(channel_id, None)
        breaker.relays.pop(channel_id, None)
        prefix = f"{device_id}_{channel_id}_"
        breaker.entity_keys = {key for key in breaker.entity_keys if not key.startswith(prefix)}
        device = async_get_entry_device(
            self.hass, self.entry.entry_id, channel_identifier(device_id, channel_id)
        )
        if device is not None:
            # Removing the device removes its entities from the entity registry too.
            async_remove_entry_device(self.hass, self.entry.entry_id, device)

    @callback
    def _remove_relay(self, breaker: Breaker, channel_id: str) -> None:
        """The channel is announced without a relay now: its switch leaves the registry."""
        key = ChannelEntityKey(
            device_id=breaker.config.device_id, channel_id=channel_id, key=KEY_RELAY
        )
        breaker.relays.pop(channel_id, None)
        breaker.entity_keys.discard(key.unique_id)
        registry = er.async_get(self.hass)
        if entity_id := registry.async_get_entity_id("switch", DOMAIN, key.unique_id):
            registry.async_remove(entity_id)

    @callback
    def _remove_breaker(self, device_id: str) -> None:
        breaker = self.breakers.pop(device_id, None)
        if breaker is not None:
            self._stop_breaker(breaker)
            for channel in breaker.config.channels:
                self._remove_channel(breaker, channel.id)
        device = async_get_entry_device(self.hass, self.entry.entry_id, (DOMAIN, device_id))
        if device is not None:
            async_remove_entry_device(self.hass, self.entry.entry_id, device)

    @callback
    def _announce_known_entities(self, breaker: Breaker) -> None:
        """Recreate entities known from earlier runs, and the relay switches announced."""
        config = breaker.config
        channel_ids = config.channel_ids()
        wanted = [
            ChannelEntityKey(device_id=config.device_id, channel_id=channel.id, key=KEY_RELAY)
            for channel in config.channels
            if channel.relay
        ]
        entity_registry = er.async_get(self.hass)
        for entry in er.async_entries_for_config_entry(entity_registry, self.entry.entry_id):
            for channel_id in channel_ids:
                head = f"{config.device_id}_{channel_id}_"
                if entry.unique_id.startswith(head):
                    key = entry.unique_id[len(head) :]
                    if key in (KEY_ENERGY, *MEASUREMENT_KEYS):
                        wanted.append(
                            ChannelEntityKey(
                                device_id=config.device_id, channel_id=channel_id, key=key
                            )
                        )
        for entity_key in wanted:
            self._announce(breaker, entity_key)

    @callback
    def _announce(self, breaker: Breaker, entity_key: ChannelEntityKey) -> None:
        if entity_key.unique_id in breaker.entity_keys:
            return
        breaker.entity_keys.add(entity_key.unique_id)
        async_dispatcher_send(self.hass, signal_new_channel_entity(self.entry.entry_id), entity_key)

    # -- per-breaker topics ----------------------------------------------------------------

    @callback
    def _subscribe(self, breaker: Breaker) -> None:
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
        if self.breakers.get(breaker.config.device_id) is breaker and (
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
    def _known_channels(self, breaker: Breaker, message: StateMessage) -> dict[str, ChannelState]:
        """The message's channels that the announcement lists; others are ignored."""
        announced = breaker.config.channel_ids()
        return {cid: state for cid, state in message.channels.items() if cid in announced}

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
        channels = self._known_channels(breaker, message)
        self.publisher.publish(device_id, [(message.ts, message.seq, channels)])
        if not self._is_newer(breaker, message):
            return  # late delivery: forwarded to the ledger, but not newer than what we show
        breaker.last_ts = message.ts
        breaker.last_seq = message.seq
        if breaker.online is None:
            breaker.online = True  # a device that talks is up until its LWT says otherwise
        for channel_id, state in channels.items():
            breaker.states[channel_id] = state
            if state.relay is not None:
                breaker.relays[channel_id] = state.relay
            self._announce_fields(breaker, channel_id, state)
        async_dispatcher_send(self.hass, signal_device_update(self.entry.entry_id, device_id))

    @staticmethod
    def _is_newer(breaker: Breaker, message: StateMessage) -> bool:
        """Newer than what is shown: by ``seq`` when both have one, else by ``ts``."""
        if message.seq is not None and breaker.last_seq is not None:
            return message.seq > breaker.last_seq
        return breaker.last_ts is None or message.ts >= breaker.last_ts

    @callback
    def _announce_fields(self, breaker: Breaker, channel_id: str, state: ChannelState) -> None:
        device_id = breaker.config.device_id
        keys = [KEY_ENERGY]
        keys.extend(key for key in MEASUREMENT_KEYS if getattr(state, key) is not None)
        for key in keys:
            if f"{device_id}_{channel_id}_{key}" not in breaker.entity_keys:
                self._announce(
                    breaker, ChannelEntityKey(device_id=device_id, channel_id=channel_id, key=key)
                )

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
        batch = [(m.ts, m.seq, self._known_channels(breaker, m)) for m in fresh]
        self.publisher.publish(device_id, batch)
        for ts, _, channels in batch:
            for channel_id, state in channels.items():
                registers.setdefault(channel_id, []).append((ts, state.energy_wh))
        for channel_id, readings in registers.items():
            self._announce(
                breaker,
                ChannelEntityKey(device_id=device_id, channel_id=channel_id, key=KEY_ENERGY),
            )
            self.importer.add(
                ChannelEntityKey(device_id=device_id, channel_id=channel_id, key=KEY_ENERGY),
                readings,
            )

    @callback
    def _on_ack(self, breaker: Breaker, msg: ReceiveMessage) -> None:
        try:
            ack = protocol.parse_ack(msg.payload)
        except ProtocolError as err:
            self._malformed(breaker.config.device_id, "ack", err)
            return
        future = breaker.pending.pop(ack.id, None)
        if future is not None and not future.done():
            future.set_result(ack)

    # -- commands --------------------------------------------------------------------------

    async def async_set_relay(self, device_id: str, channel_id: str, relay: RelayState) -> None:
        """Send a relay command and wait for the breaker to confirm it.

        The channel's relay state changes only from what the device confirms (the ack here,
        or its next state message), so a lost command never shows a state that isn't true.
        """
        breaker = self.breakers.get(device_id)
        if breaker is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_unknown",
                translation_placeholders={"device_id": device_id},
            )
        command_id = str(uuid.uuid4())
        future: asyncio.Future[Ack] = self.hass.loop.create_future()
        breaker.pending[command_id] = future
        channel_name = next(
            (c.name for c in breaker.config.channels if c.id == channel_id), channel_id
        )
        placeholders = {"name": breaker.config.name, "channel": channel_name, "relay": relay}
        try:
            await mqtt.async_publish(
                self.hass,
                f"{breaker.config.base_topic}/command",
                protocol.command_payload(command_id, channel_id, relay),
                1,
                False,
            )
            async with asyncio.timeout(ACK_TIMEOUT):
                ack = await future
        except TimeoutError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_timeout",
                translation_placeholders={**placeholders, "timeout": f"{ACK_TIMEOUT:g}"},
            ) from err
        finally:
            breaker.pending.pop(command_id, None)
        if not ack.ok:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="command_rejected",
                translation_placeholders={**placeholders, "error": ack.error or "unknown"},
            )
        breaker.relays[channel_id] = ack.relay or relay
        async_dispatcher_send(self.hass, signal_device_update(self.entry.entry_id, device_id))

    # -- for entities and diagnostics ------------------------------------------------------

    def channel_device_info(self, device_id: str, channel_id: str) -> DeviceInfo:
        """A breaker channel's device, under its breaker."""
        return self.breakers[device_id].channel_device_info(channel_id) | via_device(
            self.hass, self.entry.entry_id, (DOMAIN, device_id)
        )

    def channel_state(self, device_id: str, channel_id: str) -> ChannelState | None:
        breaker = self.breakers.get(device_id)
        return None if breaker is None else breaker.states.get(channel_id)

    def relay(self, device_id: str, channel_id: str) -> RelayState | None:
        breaker = self.breakers.get(device_id)
        return None if breaker is None else breaker.relays.get(channel_id)

    def available(self, device_id: str) -> bool:
        breaker = self.breakers.get(device_id)
        return breaker is not None and breaker.online is not False
