"""What differs between the Home Assistant releases this integration supports, in one place.

The oldest supported release is 2025.4; current releases (2026.x) reworked the device
registry: a device belongs to exactly one config entry, so devices are looked up by an
identifier *within* a config entry, removed rather than detached from an entry, and linked
to their parent by the parent's registry id instead of its identifier (the old calls still
work there but are deprecated and log, or raise in tests). Each helper detects what the
running release offers, never its version number.
"""

from collections.abc import Callable
from typing import Any, Final, cast

import attr
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntry, DeviceInfo

type Identifier = tuple[str, str]

# A device belongs to one config entry (`DeviceEntry.config_entry_id`, 2026.x), not to a
# set of them (`DeviceEntry.config_entries`, 2025.4).
SINGLE_ENTRY_DEVICES: Final = "config_entry_id" in attr.fields_dict(DeviceEntry)
# Entities name their parent device by its registry id (`via_device_id`, 2026.x) rather than
# by its identifier (`via_device`, 2025.4).
VIA_DEVICE_ID: Final = "via_device_id" in DeviceInfo.__annotations__


def async_get_entry_device(
    hass: HomeAssistant, config_entry_id: str, identifier: Identifier
) -> DeviceEntry | None:
    """The device with ``identifier`` that belongs to config entry ``config_entry_id``."""
    registry = dr.async_get(hass)
    by_identifier: Callable[[Identifier, str], DeviceEntry | None] | None = getattr(
        registry, "async_get_device_by_identifier", None
    )
    if by_identifier is not None:
        return by_identifier(identifier, config_entry_id)
    device = registry.async_get_device(identifiers={identifier})
    if device is None or config_entry_id not in device.config_entries:
        return None
    return device


def device_config_subentries(device: DeviceEntry) -> dict[str, set[str | None]]:
    """The config entries ``device`` belongs to, each with its subentries (None: the entry).

    Exactly one entry with one subentry (or None) on current releases.
    """
    if SINGLE_ENTRY_DEVICES:
        entry_id: str = getattr(device, "config_entry_id")  # noqa: B009 (not in 2025.4)
        subentry_id: str | None = getattr(device, "config_subentry_id")  # noqa: B009
        return {entry_id: {subentry_id}}
    return {entry_id: set(subs) for entry_id, subs in device.config_entries_subentries.items()}


def device_config_entry_ids(device: DeviceEntry) -> set[str]:
    """The config entries ``device`` belongs to (exactly one on current releases)."""
    return set(device_config_subentries(device))


def async_remove_entry_device(
    hass: HomeAssistant, config_entry_id: str, device: DeviceEntry
) -> None:
    """Take ``device`` (and so its entities) away from config entry ``config_entry_id``."""
    registry = dr.async_get(hass)
    if SINGLE_ENTRY_DEVICES:
        # The device is this entry's alone: removing it is what detaching it meant.
        registry.async_remove_device(device.id)
    else:
        registry.async_update_device(device.id, remove_config_entry_id=config_entry_id)


def via_device(hass: HomeAssistant, config_entry_id: str, parent: Identifier) -> DeviceInfo:
    """The part of a DeviceInfo that hangs a device under ``parent`` of the same entry.

    The parent is registered before its children (hub, gateway and ledger do so at start);
    should it not be yet, the identifier form is used, which current releases still accept.
    """
    if VIA_DEVICE_ID and (device := async_get_entry_device(hass, config_entry_id, parent)):
        return cast("DeviceInfo", {"via_device_id": device.id})
    return DeviceInfo(via_device=parent)


def via_device_kwargs(parent: DeviceEntry, identifier: Identifier) -> dict[str, Any]:
    """``via_device…`` for ``DeviceRegistry.async_get_or_create`` under a registered parent."""
    if VIA_DEVICE_ID:
        return {"via_device_id": parent.id}
    return {"via_device": identifier}
