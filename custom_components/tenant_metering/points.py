"""Metering point ids of every source (docs/ledger-contract.md, "Metering point ids").

Point ids are what the ledger assigns to tenants, so they never change once a point exists:
an MQTT breaker channel is ``mqtt:{device_id}:{channel}``, a Modbus meter channel
``modbus:{gateway_uid}:{slave_id}:{channel}`` (the gateway entry's unique id, fixed when the
gateway was added) and an adopted HA sensor ``ha:{entity registry id}`` (the registry's UUID,
which survives entity id renames). Pure functions, no Home Assistant.
"""

from dataclasses import dataclass
from typing import Final

from .protocol import parse_point_id, point_id

SOURCE_MQTT: Final = "mqtt"
SOURCE_MODBUS: Final = "modbus"
SOURCE_HA: Final = "ha"


def mqtt_point_id(device_id: str, channel_id: str) -> str:
    """An MQTT breaker channel's point id."""
    return point_id(device_id, channel_id)


def modbus_device_id(gateway_uid: str, slave_id: int) -> str:
    """A Modbus meter's device identifier (and the head of its channels' unique ids)."""
    return f"{gateway_uid}_{slave_id}"


def modbus_point_id(gateway_uid: str, slave_id: int, channel_id: str) -> str:
    """A Modbus meter channel's point id."""
    return f"{SOURCE_MODBUS}:{gateway_uid}:{slave_id}:{channel_id}"


def adopted_point_id(registry_id: str) -> str:
    """An adopted HA energy sensor's point id."""
    return f"{SOURCE_HA}:{registry_id}"


@dataclass(frozen=True, kw_only=True)
class ChannelPoint:
    """A point measured by one of our channels (MQTT or Modbus): its channel entities'
    unique ids are ``{device_id}_{channel_id}_{key}``."""

    device_id: str
    channel_id: str

    def unique_id(self, key: str) -> str:
        return f"{self.device_id}_{self.channel_id}_{key}"


def channel_point(point: str) -> ChannelPoint | None:
    """The channel behind an ``mqtt:`` or ``modbus:`` point id; None for other sources."""
    if (mqtt := parse_point_id(point)) is not None:
        return ChannelPoint(device_id=mqtt[0], channel_id=mqtt[1])
    source, gateway_uid, slave, channel_id = ([*point.split(":", 3), "", "", ""])[:4]
    if source != SOURCE_MODBUS or not gateway_uid or not slave.isdigit() or not channel_id:
        return None
    return ChannelPoint(device_id=modbus_device_id(gateway_uid, int(slave)), channel_id=channel_id)


def adopted_registry_id(point: str) -> str | None:
    """The entity registry id behind an ``ha:`` point id; None for other sources."""
    source, _, registry_id = point.partition(":")
    return registry_id if source == SOURCE_HA and registry_id else None
