"""The MQTT breaker hub: discovers breakers and holds what is known of them.

One hub per topic prefix (one config entry). It subscribes to
``{prefix}/discovery/+/config`` itself, so breakers announced after setup join the same
entry without new config flows. Entities are created lazily: the hub announces a
``(device, channel, key)`` through a dispatcher signal the first time a field shows up.
What a breaker is lives in ``breaker.py``, its devices in ``devices.py``, its topics (state,
availability, backlog, acks) in ``messages.py``, relay commands in ``commands.py`` and
backlogs' statistics in ``statistics.py``.
"""

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, Self

from homeassistant.components import mqtt
from homeassistant.components.mqtt import ReceiveMessage
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
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
    channel_unique_id_head,
    device_identifier,
)
from ...readings import ReadingPublisher
from . import commands, devices, protocol
from .breaker import Breaker
from .entities import channel_entities
from .messages import MEASUREMENT_KEYS, BreakerTopics, MalformedLog
from .protocol import ChannelState, DeviceConfig, ProtocolError
from .statistics import BacklogImporter
from .writers import StateWriters


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
        self.importer = importer
        self._discovery_unsubscribe: CALLBACK_TYPE | None = None
        self._malformed = MalformedLog()
        self.writers = StateWriters()
        self._topics = BreakerTopics(
            hass,
            entry,
            self.breakers,
            announce=self._announce,
            publisher=ReadingPublisher(hass, entry, prefix),
            importer=importer,
            malformed=self._malformed,
            writers=self.writers,
        )

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
        channel_devices = devices.async_register_breaker(self.hass, self.entry.entry_id, config)
        self._topics.subscribe(breaker)
        self._announce_known_entities(breaker, channel_devices)

    @callback
    def _update_breaker(self, breaker: Breaker, config: DeviceConfig) -> None:
        old = breaker.config
        breaker.config = config
        channel_devices = devices.async_register_breaker(self.hass, self.entry.entry_id, config)
        for channel_id in old.channel_ids() - config.channel_ids():
            self._remove_channel(breaker, channel_id)
        relays = {channel.id for channel in config.channels if channel.relay}
        for channel in old.channels:
            if channel.relay and channel.id in config.channel_ids() - relays:
                self._remove_relay(breaker, channel.id)
        if old.base_topic != config.base_topic:
            self._stop_breaker(breaker)
            self._topics.subscribe(breaker)
        self._announce_known_entities(breaker, channel_devices)
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
    def _announce_known_entities(self, breaker: Breaker, channel_devices: dict[str, str]) -> None:
        """Recreate entities known from earlier runs, and the relay switches announced.

        ``channel_devices``: each announced channel's device registry id.
        """
        config = breaker.config
        wanted = [
            ChannelEntityKey(device_id=config.device_id, channel_id=channel.id, key=KEY_RELAY)
            for channel in config.channels
            if channel.relay
        ]
        for channel_id, channel_device in channel_devices.items():
            wanted.extend(
                ChannelEntityKey(device_id=config.device_id, channel_id=channel_id, key=key)
                for key in devices.async_known_channel_keys(
                    self.hass, self.entry.entry_id, config.device_id, channel_id, channel_device
                )
                if key in (KEY_ENERGY, *MEASUREMENT_KEYS)
            )
        self._announce(breaker, wanted)

    @callback
    def _announce(self, breaker: Breaker, entity_keys: Iterable[ChannelEntityKey]) -> None:
        """Have the platforms add the entities of these keys, all in one go, unless known."""
        new = [key for key in entity_keys if key.unique_id not in breaker.entity_keys]
        if not new:
            return
        breaker.entity_keys.update(key.unique_id for key in new)
        async_dispatcher_send(self.hass, signal_new_channel_entity(self.entry.entry_id), new)

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
        def _add_channel_entities(keys: list[ChannelEntityKey]) -> None:
            if entities := [
                entity for key in keys for entity in channel_entities(self, key, platform)
            ]:
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
                    "states": {cid: state._asdict() for cid, state in breaker.states.items()},
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
