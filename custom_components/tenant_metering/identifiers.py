"""Every id scheme of the integration, written once: point ids, device identifiers, unique ids.

None of these may change once shipped: point ids are what the ledger assigns to tenants
(docs/ledger-contract.md, "Metering point ids"), device identifiers and unique ids are what
HA's registries keep the user's names, areas and history under.

- Point ids: an MQTT breaker channel is ``mqtt:{device_id}:{channel}``, a Modbus meter channel
  ``modbus:{gateway_uid}:{slave_id}:{channel}`` (the gateway entry's unique id, fixed when the
  gateway was added) and an adopted HA sensor ``ha:{entity registry id}`` (the registry's
  UUID, which survives entity id renames).
- Devices: a breaker is ``{device_id}``, a Modbus gateway ``{gateway_uid}``, its meter
  ``{gateway_uid}_{slave_id}``, a channel of either ``{device_id}_{channel_id}``, the ledger
  ``ledger`` and a tenant ``tenant_{tenant_id}``.
- Entities: a channel's ``{device_id}_{channel_id}_{key}``, a tenant's
  ``tenant_{tenant_id}_{key}``, the ledger's ``ledger_{key}``.
- Config entries: the MQTT hub ``mqtt_{prefix}``, the ledger link ``ledger``, an adopted
  sensor ``ha_{entity registry id}`` (a Modbus gateway's is the slug of its name).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from homeassistant.helpers.device_registry import DeviceInfo

from .const import DOMAIN

type Identifier = tuple[str, str]

SOURCE_MQTT: Final = "mqtt"
SOURCE_MODBUS: Final = "modbus"
SOURCE_HA: Final = "ha"

# Entity keys of a channel that other modules look for; the measurement keys are the
# protocol's field names.
KEY_ENERGY: Final = "energy"
KEY_RELAY: Final = "relay"

LEDGER_UNIQUE_ID: Final = "ledger"
LEDGER_IDENTIFIER: Final[Identifier] = (DOMAIN, LEDGER_UNIQUE_ID)
_TENANT_PREFIX: Final = "tenant_"


# -- point ids (the ledger's) ------------------------------------------------------------


def mqtt_point_id(device_id: str, channel_id: str) -> str:
    """An MQTT breaker channel's point id."""
    return f"{SOURCE_MQTT}:{device_id}:{channel_id}"


def parse_mqtt_point_id(point: str) -> tuple[str, str] | None:
    """``(device_id, channel_id)`` of an MQTT breaker point id, None for other sources."""
    source, _, rest = point.partition(":")
    device_id, _, channel_id = rest.partition(":")
    if source != SOURCE_MQTT or not device_id or not channel_id:
        return None
    return device_id, channel_id


def modbus_point_id(gateway_uid: str, slave_id: int, channel_id: str) -> str:
    """A Modbus meter channel's point id."""
    return f"{SOURCE_MODBUS}:{gateway_uid}:{slave_id}:{channel_id}"


def adopted_point_id(registry_id: str) -> str:
    """An adopted HA energy sensor's point id."""
    return f"{SOURCE_HA}:{registry_id}"


def adopted_registry_id(point: str) -> str | None:
    """The entity registry id behind an ``ha:`` point id; None for other sources."""
    source, _, registry_id = point.partition(":")
    return registry_id if source == SOURCE_HA and registry_id else None


# -- devices -----------------------------------------------------------------------------


def device_identifier(device_id: str) -> Identifier:
    """A breaker's, a Modbus gateway's or a Modbus meter's device identifier."""
    return (DOMAIN, device_id)


def modbus_device_id(gateway_uid: str, slave_id: int) -> str:
    """A Modbus meter's device id (and the head of its channels' identifiers)."""
    return f"{gateway_uid}_{slave_id}"


def channel_device_id(device_id: str, channel_id: str) -> str:
    """A metering channel's device id, under its breaker or Modbus meter."""
    return f"{device_id}_{channel_id}"


def channel_identifier(device_id: str, channel_id: str) -> Identifier:
    return device_identifier(channel_device_id(device_id, channel_id))


def channel_device_info(
    device_id: str, channel_id: str, *, name: str, manufacturer: str | None, model: str
) -> DeviceInfo:
    """A metering channel's device (MQTT or Modbus), without its link to the parent device."""
    return DeviceInfo(
        identifiers={channel_identifier(device_id, channel_id)},
        name=name,
        manufacturer=manufacturer,
        model=model,
    )


def tenant_identifier(tenant_id: str) -> Identifier:
    """A tenant's device identifier."""
    return (DOMAIN, f"{_TENANT_PREFIX}{tenant_id}")


def tenant_id_of(identifiers: Iterable[Identifier]) -> str | None:
    """The tenant behind a device's identifiers; None if it is not a tenant's device."""
    return next(
        (
            identifier.removeprefix(_TENANT_PREFIX)
            for domain, identifier in identifiers
            if domain == DOMAIN and identifier.startswith(_TENANT_PREFIX)
        ),
        None,
    )


# -- entities ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ChannelEntityKey:
    """Identifies one entity of a metering channel (MQTT or Modbus)."""

    device_id: str
    channel_id: str
    key: str

    @property
    def unique_id(self) -> str:
        return channel_unique_id(self.device_id, self.channel_id, self.key)


def channel_unique_id(device_id: str, channel_id: str, key: str) -> str:
    return f"{channel_unique_id_head(device_id, channel_id)}{key}"


def channel_unique_id_head(device_id: str, channel_id: str) -> str:
    """What every unique id of a channel's entities starts with (the key follows)."""
    return f"{channel_device_id(device_id, channel_id)}_"


def channel_key_of_point(point: str, key: str) -> ChannelEntityKey | None:
    """The entity ``key`` of the channel behind an ``mqtt:`` or ``modbus:`` point id; None
    for other sources."""
    if (mqtt := parse_mqtt_point_id(point)) is not None:
        return ChannelEntityKey(device_id=mqtt[0], channel_id=mqtt[1], key=key)
    source, gateway_uid, slave, channel_id = ([*point.split(":", 3), "", "", ""])[:4]
    if source != SOURCE_MODBUS or not gateway_uid or not slave.isdigit() or not channel_id:
        return None
    return ChannelEntityKey(
        device_id=modbus_device_id(gateway_uid, int(slave)), channel_id=channel_id, key=key
    )


def tenant_unique_id(tenant_id: str, key: str) -> str:
    return f"{_TENANT_PREFIX}{tenant_id}_{key}"


def ledger_unique_id(key: str) -> str:
    """An entity of the ledger device itself (the cut-off guard, the journal head)."""
    return f"{LEDGER_UNIQUE_ID}_{key}"


# -- config entries ----------------------------------------------------------------------


def hub_entry_unique_id(prefix: str) -> str:
    return f"{SOURCE_MQTT}_{prefix}"


def adopted_entry_unique_id(registry_id: str) -> str:
    return f"{SOURCE_HA}_{registry_id}"
