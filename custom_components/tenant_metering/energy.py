"""Add tenants' and channels' energy sensors to the energy dashboard as individual devices.

Only `device_consumption` entries are written (HA_COMPAT.md): the grid, solar and other
`energy_sources` belong to the landlord. Existing entries are kept as they are, so running
this again (new tenants, a restart) only appends what is missing.

`included_in_stat` names the upstream meter (the building incomer) so the energy dashboard
can show the incomer's consumption that no channel accounts for. A device names its own
upstream (`EnergyDevice.upstream`); `incomer` is written first and is the upstream of the
devices that name none. HA 2025.4 accepts it; it is
feature-detected from HA's own schema so an HA without it gets plain entries instead of
invalid preferences.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.components.energy.data import (
    DEVICE_CONSUMPTION_SCHEMA,
    DeviceConsumption,
    EnergyPreferencesUpdate,
    async_get_manager,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .identifiers import KEY_ENERGY

INCLUDED_IN_STAT: Final = "included_in_stat"


@dataclass(frozen=True, kw_only=True)
class EnergyDevice:
    """One energy sensor (kWh, total_increasing) to show as an individual device."""

    stat_consumption: str
    name: str | None = None
    upstream: str | None = None  # the meter this one is downstream of (its incomer)


@callback
def channel_energy_sensors(hass: HomeAssistant, entry_id: str) -> list[er.RegistryEntry]:
    """The energy sensors of a config entry's metering channels, as registered."""
    return [
        entity
        for entity in er.async_entries_for_config_entry(er.async_get(hass), entry_id)
        if entity.domain == Platform.SENSOR and entity.unique_id.endswith(f"_{KEY_ENERGY}")
    ]


def supports_included_in_stat() -> bool:
    """Whether this HA's energy preferences accept an upstream device."""
    return INCLUDED_IN_STAT in {str(key) for key in DEVICE_CONSUMPTION_SCHEMA.schema}


def _entry(device: EnergyDevice, upstream: str | None) -> DeviceConsumption:
    entry: dict[str, Any] = {"stat_consumption": device.stat_consumption}
    if device.name:
        entry["name"] = device.name
    if upstream and upstream != device.stat_consumption and supports_included_in_stat():
        entry[INCLUDED_IN_STAT] = upstream
    validated: DeviceConsumption = DEVICE_CONSUMPTION_SCHEMA(entry)
    return validated


async def async_register_energy_devices(
    hass: HomeAssistant,
    devices: Sequence[EnergyDevice],
    incomer: EnergyDevice | None = None,
) -> list[str]:
    """Append missing devices (and the incomer, as their upstream) to the energy prefs.

    Returns the statistic ids that were added; an empty list means nothing changed.
    """
    manager = await async_get_manager(hass)
    current: list[DeviceConsumption] = list(
        manager.data["device_consumption"] if manager.data else []
    )
    known = {entry["stat_consumption"] for entry in current}
    default_upstream = incomer.stat_consumption if incomer else None
    wanted = ([(incomer, None)] if incomer else []) + [
        (device, device.upstream or default_upstream) for device in devices
    ]

    added: list[DeviceConsumption] = []
    for device, parent in wanted:
        if device.stat_consumption not in known:
            known.add(device.stat_consumption)
            added.append(_entry(device, parent))
    if added:
        # EnergyPreferencesUpdate is total=False but inherits required keys (HA typing slip);
        # sending energy_sources too would rewrite the landlord's sources, so we don't.
        update: EnergyPreferencesUpdate = {"device_consumption": current + added}  # type: ignore[typeddict-item]
        await manager.async_update(update)
    return [entry["stat_consumption"] for entry in added]
