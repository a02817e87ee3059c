"""The MQTT breaker hub: discovery, the breakers' state and availability, their backlogs.

One hub per topic prefix (one config entry). It subscribes to
``{prefix}/discovery/+/config`` itself, so breakers announced after setup join the same
entry without new config flows. Entities are created lazily: the hub announces a
``(device, channel, key)`` through a dispatcher signal the first time a field shows up.
What a breaker is lives in ``breaker.py``, its devices in ``devices.py``, relay commands in
``commands.py`` and backlogs' statistics in ``statistics.py``.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
import logging
import time
from typing import Any, Final, Self

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from ...compat import via_device
from ...const import (
    CONF_PREFIX,
    DEFAULT_PREFIX,
    DOMAIN,
    RelayState,
    signal_device_update,
    signal_new_channel_entity,
)
from ...energy import EnergyDevice, channel_energy_sensors
from ...identifiers import (
    KEY_ENERGY,
    KEY_RELAY,
    ChannelEntityKey,
    channel_device_id,
    channel_unique_id,
    channel_unique_id_head,
    device_identifier,
    mqtt_point_id,
)
from ...readings import PointReading, ReadingPublisher
from . import commands, devices, protocol
from .breaker import Breaker
from .entities import channel_entities
from .protocol import ChannelState, DeviceConfig, ProtocolError
from .statistics import BacklogImporter

_LOGGER = logging.getLogger(__name__)

MEASUREMENT_KEYS = protocol.MEASUREMENT_FIELDS
# (ts, seq, registers per channel id) of one state message.
type DeviceReadings = tuple[int, int | None, Mapping[str, ChannelState]]
# A state message stamped further ahead than this is a wrong device clock, not a reading.
MAX_CLOCK_AHEAD: Final = 86400


class MqttHub:
    """Runtime of the ``mqtt_hub`` config entry (a ``SourceRuntime``)."""

    platforms: tuple[Platform, ...] = (Platform.SENSOR, Platform.SWITCH)

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        prefix: str,
        importer: BacklogImporter,
    ) -> None:
        self.hass = hass
        self.entry = entry
        self.prefix = prefix
        self.breakers: dict[str, Breaker] = {}
        self.publisher = ReadingPublisher(hass, entry, prefix)
        self.importer = importer
        self._discovery_unsubscribe: CALLBACK_TYPE | None = None
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    async def async_create(cls, hass: HomeAssistant, entry: ConfigEntry[Any]) -> Self:
        prefix = entry.data.get(CONF_PREFIX, DEFAULT_PREFIX)
        return cls(hass, entry, prefix, BacklogImporter(hass, entry))

    # -- lifecycle -------------------------------------------------------------------------

    async def async_prepare(self) -> None:
        """Nothing to prepare: breakers make themselves known once the hub listens."""

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
        commands.fail_pending(breaker)

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
    def _add_breaker(self, config: DeviceConfig) -> None:
        breaker = Breaker(config=config)
        self.breakers[config.device_id] = breaker
        devices.async_register_breaker(self.hass, self.entry.entry_id, config)
        self._subscribe(breaker)
        self._announce_known_entities(breaker)

    @callback
    def _update_breaker(self, breaker: Breaker, config: DeviceConfig) -> None:
        old = breaker.config
        breaker.config = config
        devices.async_register_breaker(self.hass, self.entry.entry_id, config)
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
        head = channel_unique_id_head(device_id, channel_id)
        breaker.entity_keys = {key for key in breaker.entity_keys if not key.startswith(head)}
        devices.async_remove_channel(self.hass, self.entry.entry_id, device_id, channel_id)

    @callback
    def _remove_relay(self, breaker: Breaker, channel_id: str) -> None:
        """The channel is announced without a relay now: its switch leaves the registry."""
        key = ChannelEntityKey(
            device_id=breaker.config.device_id, channel_id=channel_id, key=KEY_RELAY
        )
        breaker.relays.pop(channel_id, None)
        breaker.entity_keys.discard(key.unique_id)
        devices.async_remove_switch(self.hass, key.unique_id)

    @callback
    def _remove_breaker(self, device_id: str) -> None:
        breaker = self.breakers.pop(device_id, None)
        if breaker is not None:
            self._stop_breaker(breaker)
            for channel in breaker.config.channels:
                self._remove_channel(breaker, channel.id)
        devices.async_remove_device(self.hass, self.entry.entry_id, device_identifier(device_id))

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
                head = channel_unique_id_head(config.device_id, channel_id)
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
        for channel_id, state in channels.items():
            breaker.states[channel_id] = state
            if state.relay is not None:
                breaker.relays[channel_id] = state.relay
            self._announce_fields(breaker, channel_id, state)
        async_dispatcher_send(self.hass, signal_device_update(self.entry.entry_id, device_id))

    @callback
    def _announce_fields(self, breaker: Breaker, channel_id: str, state: ChannelState) -> None:
        device_id = breaker.config.device_id
        keys = [KEY_ENERGY]
        keys.extend(key for key in MEASUREMENT_KEYS if getattr(state, key) is not None)
        for key in keys:
            if channel_unique_id(device_id, channel_id, key) not in breaker.entity_keys:
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
        batch = [(m.ts, m.seq, breaker.known_channels(m)) for m in fresh]
        self._publish(device_id, batch)
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
    def _publish(self, device_id: str, messages: Iterable[DeviceReadings]) -> None:
        """Send the registers of one state message, or of a whole backlog, as one batch."""
        self.publisher.publish_points(
            PointReading(
                point=mqtt_point_id(device_id, channel_id),
                ts=ts,
                energy_wh=state.energy_wh,
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

    # -- commands --------------------------------------------------------------------------

    async def async_set_relay(self, device_id: str, channel_id: str, relay: RelayState) -> None:
        """Switch a channel's relay; shown once the breaker confirmed it (``commands.py``)."""
        breaker = self.breakers.get(device_id)
        if breaker is None:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="device_unknown",
                translation_placeholders={"device_id": device_id},
            )
        breaker.relays[channel_id] = await commands.async_send_relay(
            self.hass, breaker, channel_id, relay
        )
        async_dispatcher_send(self.hass, signal_device_update(self.entry.entry_id, device_id))

    # -- for entities and diagnostics ------------------------------------------------------

    def channel_device_info(self, device_id: str, channel_id: str) -> DeviceInfo:
        """A breaker channel's device, under its breaker."""
        return self.breakers[device_id].channel_device_info(channel_id) | via_device(
            self.hass, self.entry.entry_id, device_identifier(device_id)
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

    # -- SourceRuntime ---------------------------------------------------------------------

    def async_add_platform_entities(
        self, platform: Platform, async_add_entities: AddConfigEntryEntitiesCallback
    ) -> None:
        """Add the platform's entity of each channel field as the hub announces it."""

        @callback
        def _add_channel_entities(key: ChannelEntityKey) -> None:
            if entities := channel_entities(self, key, platform):
                async_add_entities(entities)

        self.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass, signal_new_channel_entity(self.entry.entry_id), _add_channel_entities
            )
        )

    def known_device_identifiers(self) -> set[str]:
        return set(self.breakers) | {
            channel_device_id(device_id, channel.id)
            for device_id, breaker in self.breakers.items()
            for channel in breaker.config.channels
        }

    def diagnostics(self) -> dict[str, Any]:
        return {
            "breakers": {
                device_id: {
                    "config": asdict(breaker.config),
                    "online": breaker.online,
                    "last_ts": breaker.last_ts,
                    "last_seq": breaker.last_seq,
                    "states": {cid: asdict(state) for cid, state in breaker.states.items()},
                    "relays": breaker.relays,
                    "entities": sorted(breaker.entity_keys),
                    "pending_commands": len(breaker.pending),
                }
                for device_id, breaker in self.breakers.items()
            }
        }

    def energy_devices(self) -> list[EnergyDevice]:
        """Every channel's energy sensor; breakers name no upstream meter."""
        return [
            EnergyDevice(stat_consumption=entity.entity_id)
            for entity in channel_energy_sensors(self.hass, self.entry.entry_id)
        ]
