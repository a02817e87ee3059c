"""What the hub knows about one announced breaker, and how it orders the breaker's messages."""

import asyncio
from dataclasses import dataclass, field
from typing import Final

from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers.device_registry import DeviceInfo

from ...const import RelayState
from ...identifiers import KEY_ENERGY, KEY_RELAY, channel_device_info, channel_unique_id
from .backlog import SeenMessages
from .protocol import MEASUREMENT_FIELDS, Ack, ChannelState, DeviceConfig, StateMessage

CHANNEL_MODEL = "Breaker channel"
# The ChannelState field each channel sensor shows, by entity key, in the tuple's order
# (``update_channel`` pairs them up by position; test_protocol.py holds them to it).
SENSOR_FIELDS: Final = {KEY_ENERGY: "energy_wh"} | {key: key for key in MEASUREMENT_FIELDS}


@dataclass(kw_only=True)
class Breaker:
    """One announced breaker: its announcement, its last state and its open commands."""

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
    # Each channel's entity unique ids by key, built once: a state message looks one up per
    # changed field, and a string made afresh would be formatted and hashed every time.
    _unique_ids: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def unique_ids(self, channel_id: str) -> dict[str, str]:
        """The unique ids of the channel's entities (sensors and relay), by entity key."""
        ids = self._unique_ids.get(channel_id)
        if ids is None:
            device_id = self.config.device_id
            ids = self._unique_ids[channel_id] = {
                key: channel_unique_id(device_id, channel_id, key)
                for key in (*SENSOR_FIELDS, KEY_RELAY)
            }
        return ids

    def channel_name(self, channel_id: str) -> str:
        return next((c.name for c in self.config.channels if c.id == channel_id), channel_id)

    def channel_device_info(self, channel_id: str) -> DeviceInfo:
        """The channel's device, without its link to the breaker (``MqttHub`` adds it)."""
        return channel_device_info(
            self.config.device_id,
            channel_id,
            name=self.channel_name(channel_id),
            manufacturer=self.config.manufacturer,
            model=CHANNEL_MODEL,
        )

    def known_channels(self, message: StateMessage) -> dict[str, ChannelState]:
        """The message's channels that the announcement lists; others are ignored."""
        announced = self.config.channel_ids()
        return {cid: state for cid, state in message.channels.items() if cid in announced}

    def update_channel(self, channel_id: str, state: ChannelState) -> list[str]:
        """Show a newer state of a channel; returns the entity keys whose value changed.

        A relay the message does not mention stays as last confirmed.
        """
        old = self.states.get(channel_id)
        self.states[channel_id] = state
        if old is None:
            changed = list(SENSOR_FIELDS)
        elif old == state:
            changed = []
        else:  # the relay, the last field, is left out: zip stops with SENSOR_FIELDS
            fields = zip(SENSOR_FIELDS, old, state, strict=False)
            changed = [key for key, was, now in fields if was != now]
        if state.relay is not None and self.relays.get(channel_id) != state.relay:
            self.relays[channel_id] = state.relay
            changed.append(KEY_RELAY)
        return changed

    def is_newer(self, message: StateMessage) -> bool:
        """Newer than what is shown: by ``seq`` when both have one, else by ``ts``."""
        if message.seq is not None and self.last_seq is not None:
            return message.seq > self.last_seq
        return self.last_ts is None or message.ts >= self.last_ts
