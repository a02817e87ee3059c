"""The native MQTT breaker protocol (v1): parsing and building payloads, no Home Assistant.

Every parser takes the raw payload and returns immutable values (frozen dataclasses, named
tuples) or raises `ProtocolError`; callers decide what to log. Topic layout and payloads are
described in ARCHITECTURE.md.
"""

from dataclasses import dataclass, field
import json
import re
from typing import Any, Final, NamedTuple

import orjson

from ...const import RelayState

SCHEMA_VERSION: Final = 1
DISCOVERY_SEGMENT: Final = "discovery"
CONFIG_SUFFIX: Final = "config"

type Payload = str | bytes | bytearray

# Device and channel ids: letters, digits and '-' only. '_' would make the unique ids
# `{device}_{channel}_{key}` ambiguous, ':' the point ids `mqtt:{device}:{channel}`, and
# '/', '+', '#' the topics.
VALID_ID: Final = re.compile(r"[A-Za-z0-9-]+")

# Optional numeric measurements a state message may carry per channel, besides energy_wh.
MEASUREMENT_FIELDS: Final = ("voltage", "current", "power", "power_factor", "frequency")


class ProtocolError(ValueError):
    """A payload that does not follow the protocol."""


@dataclass(frozen=True, kw_only=True)
class ChannelConfig:
    """One metered circuit of a breaker, as announced."""

    id: str
    name: str
    relay: bool = False
    rated_current_a: float | None = None


@dataclass(frozen=True, kw_only=True)
class DeviceConfig:
    """A breaker's discovery announcement."""

    device_id: str
    name: str
    manufacturer: str | None
    model: str | None
    sw_version: str | None
    base_topic: str
    channels: tuple[ChannelConfig, ...]

    def channel_ids(self) -> frozenset[str]:
        return frozenset(channel.id for channel in self.channels)


class ChannelState(NamedTuple):
    """What one state message says about one channel; absent fields are None.

    A named tuple rather than a frozen dataclass: every state message makes one per channel,
    and the hub compares each with the channel's last one field by field (``breaker.py``);
    a tuple is built and compared several times faster.
    """

    energy_wh: int
    voltage: float | None = None
    current: float | None = None
    power: float | None = None
    power_factor: float | None = None
    frequency: float | None = None
    relay: RelayState | None = None


@dataclass(frozen=True, kw_only=True)
class StateMessage:
    """A device's periodic state (also the element type of a backlog)."""

    ts: int
    seq: int | None
    channels: dict[str, ChannelState] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Ack:
    """The device's answer to a relay command."""

    id: str
    ok: bool
    relay: RelayState | None = None
    error: str | None = None


def _load_object(payload: Payload) -> dict[str, Any]:
    # orjson (Home Assistant's own JSON library, so always there) parses a state message
    # three times faster than json, and refuses what is no measurement: NaN, Infinity,
    # invalid UTF-8, integers beyond 64 bits, nesting deeper than 1024.
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as err:
        raise ProtocolError(f"not JSON: {err}") from err
    if not isinstance(value, dict):
        raise ProtocolError("expected a JSON object")
    return value


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{key!r} must be a non-empty string")
    return value


def _number(value: Any, key: str) -> float | None:
    # Parsed JSON holds exact types, so ``type() is`` suffices; it also keeps booleans out
    # (bool is an int subclass, and a boolean is never a measurement).
    if type(value) is float or value is None:
        return value
    if type(value) is int:
        return float(value)
    raise ProtocolError(f"{key!r} must be a number")


def _integer(value: Any, key: str) -> int:
    if type(value) is not int:
        raise ProtocolError(f"{key!r} must be an integer")
    return value


def valid_id(value: str) -> bool:
    """Whether a device or channel id follows the protocol (``VALID_ID``)."""
    return VALID_ID.fullmatch(value) is not None


def _id(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not valid_id(value):
        raise ProtocolError(f"{what} must be letters, digits or '-', not {value!r}")
    return value


def _relay(value: Any, key: str = "relay") -> RelayState | None:
    if value is None:
        return None
    if value == "on":
        return "on"
    if value == "off":
        return "off"
    raise ProtocolError(f"{key!r} must be 'on' or 'off'")


def discovery_device_id(topic: str, prefix: str) -> str | None:
    """The device id in ``{prefix}/discovery/{device_id}/config``, else None."""
    head = f"{prefix}/{DISCOVERY_SEGMENT}/"
    if not topic.startswith(head) or not topic.endswith(f"/{CONFIG_SUFFIX}"):
        return None
    device_id = topic[len(head) : -len(CONFIG_SUFFIX) - 1]
    return device_id if device_id and "/" not in device_id else None


def discovery_prefix(topic: str) -> str | None:
    """The prefix of a discovery topic (``a/b/discovery/x/config`` → ``a/b``)."""
    parts = topic.split("/")
    if len(parts) < 4 or parts[-3] != DISCOVERY_SEGMENT or parts[-1] != CONFIG_SUFFIX:
        return None
    return "/".join(parts[:-3])


def parse_discovery(payload: Payload) -> DeviceConfig:
    """Parse a discovery announcement (callers treat an empty payload as removal first)."""
    data = _load_object(payload)
    if data.get("schema") != SCHEMA_VERSION:
        raise ProtocolError(f"unsupported schema {data.get('schema')!r}")
    raw_channels = data.get("channels")
    if not isinstance(raw_channels, list):
        raise ProtocolError("'channels' must be a list")
    channels: list[ChannelConfig] = []
    for raw in raw_channels:
        if not isinstance(raw, dict):
            raise ProtocolError("each channel must be an object")
        channel_id = _id(raw.get("id"), "channel 'id'")
        relay = raw.get("relay", False)
        if not isinstance(relay, bool):
            raise ProtocolError("channel 'relay' must be a boolean")
        name = raw.get("name")
        channels.append(
            ChannelConfig(
                id=channel_id,
                name=name if isinstance(name, str) and name else f"Channel {channel_id}",
                relay=relay,
                rated_current_a=_number(raw.get("rated_current_a"), "rated_current_a"),
            )
        )
    if len({channel.id for channel in channels}) != len(channels):
        raise ProtocolError("duplicate channel ids")
    device_id = _id(data.get("device_id"), "'device_id'")
    base_topic = _text(data, "base_topic")
    assert base_topic is not None
    return DeviceConfig(
        device_id=device_id,
        name=_text(data, "name", required=False) or device_id,
        manufacturer=_text(data, "manufacturer", required=False),
        model=_text(data, "model", required=False),
        sw_version=_text(data, "sw_version", required=False),
        base_topic=base_topic.rstrip("/"),
        channels=tuple(channels),
    )


def _parse_state_object(data: dict[str, Any]) -> StateMessage:
    ts = _integer(data.get("ts"), "ts")
    seq = data.get("seq")
    raw_channels = data.get("channels")
    if not isinstance(raw_channels, dict):
        raise ProtocolError("'channels' must be an object")
    channels: dict[str, ChannelState] = {}
    for channel_id, raw in raw_channels.items():
        if type(raw) is not dict:
            raise ProtocolError(f"channel {channel_id!r} must be an object")
        get = raw.get
        energy_wh = _integer(get("energy_wh"), "energy_wh")
        if energy_wh < 0:
            raise ProtocolError("'energy_wh' must not be negative")
        channels[channel_id] = ChannelState(
            energy_wh,
            _number(get("voltage"), "voltage"),
            _number(get("current"), "current"),
            _number(get("power"), "power"),
            _number(get("power_factor"), "power_factor"),
            _number(get("frequency"), "frequency"),
            _relay(get("relay")),
        )
    return StateMessage(ts=ts, seq=None if seq is None else _integer(seq, "seq"), channels=channels)


def parse_state(payload: Payload) -> StateMessage:
    """Parse a ``{base}/state`` message."""
    return _parse_state_object(_load_object(payload))


def parse_backlog(payload: Payload) -> list[StateMessage]:
    """Parse a ``{base}/backlog`` message: state objects, oldest first."""
    readings = _load_object(payload).get("readings")
    if not isinstance(readings, list):
        raise ProtocolError("'readings' must be a list")
    parsed: list[StateMessage] = []
    for reading in readings:
        if not isinstance(reading, dict):
            raise ProtocolError("each reading must be an object")
        parsed.append(_parse_state_object(reading))
    return parsed


def parse_ack(payload: Payload) -> Ack:
    """Parse a ``{base}/ack`` message."""
    data = _load_object(payload)
    command_id = _text(data, "id")
    assert command_id is not None
    ok = data.get("ok")
    if not isinstance(ok, bool):
        raise ProtocolError("'ok' must be a boolean")
    error = data.get("error")
    return Ack(
        id=command_id,
        ok=ok,
        relay=_relay(data.get("relay")),
        error=error if isinstance(error, str) else None,
    )


def command_payload(command_id: str, channel_id: str, relay: RelayState) -> str:
    """The body of a ``{base}/command`` message."""
    return json.dumps({"id": command_id, "channel": channel_id, "relay": relay})
