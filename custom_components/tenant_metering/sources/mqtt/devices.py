"""The breakers' devices in HA's registries: registered as announced, removed as withdrawn."""

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from ...compat import async_get_entry_device, async_remove_entry_device, via_device_kwargs
from ...const import DOMAIN
from ...identifiers import (
    Identifier,
    channel_device_info,
    channel_identifier,
    channel_unique_id_head,
    device_identifier,
)
from .breaker import CHANNEL_MODEL
from .protocol import DeviceConfig


@callback
def async_register_breaker(
    hass: HomeAssistant, entry_id: str, config: DeviceConfig
) -> dict[str, str]:
    """The breaker's device and, under it, one device per channel (created or updated);
    returns each channel's device registry id, by channel id."""
    registry = dr.async_get(hass)
    breaker = device_identifier(config.device_id)
    breaker_device = registry.async_get_or_create(
        config_entry_id=entry_id,
        identifiers={breaker},
        name=config.name,
        manufacturer=config.manufacturer,
        model=config.model,
        sw_version=config.sw_version,
    )
    return {
        channel.id: registry.async_get_or_create(
            config_entry_id=entry_id,
            **channel_device_info(
                config.device_id,
                channel.id,
                name=channel.name,
                manufacturer=config.manufacturer,
                model=CHANNEL_MODEL,
            ),
            **via_device_kwargs(breaker_device, breaker),
        ).id
        for channel in config.channels
    }


@callback
def async_known_channel_keys(
    hass: HomeAssistant, entry_id: str, device_id: str, channel_id: str, channel_device: str
) -> list[str]:
    """The entity keys of a channel's entities in the entity registry (from earlier runs,
    disabled ones included), read through the channel's device: a lookup by index, however
    many other breakers the hub has."""
    head = channel_unique_id_head(device_id, channel_id)
    return [
        entry.unique_id.removeprefix(head)
        for entry in er.async_entries_for_device(
            er.async_get(hass), channel_device, include_disabled_entities=True
        )
        if entry.config_entry_id == entry_id and entry.unique_id.startswith(head)
    ]


@callback
def async_remove_device(hass: HomeAssistant, entry_id: str, identifier: Identifier) -> None:
    """Remove a breaker's or a channel's device, and so its entities."""
    device = async_get_entry_device(hass, entry_id, identifier)
    if device is not None:
        async_remove_entry_device(hass, entry_id, device)


@callback
def async_remove_channel(
    hass: HomeAssistant, entry_id: str, device_id: str, channel_id: str
) -> None:
    async_remove_device(hass, entry_id, channel_identifier(device_id, channel_id))


@callback
def async_remove_switch(hass: HomeAssistant, unique_id: str) -> None:
    """A relay the breaker no longer announces: its switch leaves the entity registry."""
    registry = er.async_get(hass)
    if entity_id := registry.async_get_entity_id(Platform.SWITCH, DOMAIN, unique_id):
        registry.async_remove(entity_id)
