"""Add tenants' and channels' energy sensors to the energy dashboard as individual devices.

Only `device_consumption` entries are written (HA_COMPAT.md): the grid, solar and other
`energy_sources` belong to the landlord. Existing entries are kept as they are, so running
this again (new tenants, a restart) only appends what is missing.

`included_in_stat` names the upstream meter (the building incomer) so the energy dashboard
can show the incomer's consumption that no channel accounts for, without counting a room
twice. A device names its own upstream (`EnergyDevice.upstream`); when the building has
exactly one incomer (`EnergyDevice.incomer`), it is written first and is the upstream of every
device that names none. It is feature-detected from HA's own schema so an HA without it gets
plain entries instead of invalid preferences.

The one incomer is also the building's grid consumption when the landlord has no grid source
yet, so the energy dashboard works on day one. An existing grid source is never changed, nor
any other source (HA_COMPAT.md says never to write `energy_sources`: appending a grid where
there is none is the one exception, and the issue that asked for it says why). The grid
source's shape is HA's own: 2025.4 keeps a `flow_from` list, 2026 one import meter per grid
source; `GridSourceType` says which.

Water and gas meters (adopted sensors) are not electricity devices. Water goes to HA's
individual water devices (`device_consumption_water`, HA 2025.12 and later) where the release
has them, else it is a water source, the only place HA 2025.4 shows water; gas is always a
gas source (HA has no individual gas devices). Like the grid, a source is only ever appended,
for a meter no source names yet. Heat has no place in the energy dashboard (an energy sensor
among the electricity devices would be counted as electricity), so heat meters are left out.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from homeassistant.components.energy.data import (
    DEVICE_CONSUMPTION_SCHEMA,
    GAS_SOURCE_SCHEMA,
    WATER_SOURCE_SCHEMA,
    DeviceConsumption,
    EnergyPreferences,
    EnergyPreferencesUpdate,
    GridSourceType,
    SourceType,
    async_get_manager,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .identifiers import KEY_ENERGY
from .resources import Resource

INCLUDED_IN_STAT: Final = "included_in_stat"
DEVICE_CONSUMPTION_WATER: Final = "device_consumption_water"


@dataclass(frozen=True, kw_only=True)
class EnergyDevice:
    """One meter sensor (total_increasing) to show as an individual device or source."""

    stat_consumption: str
    name: str | None = None
    resource: Resource = Resource.ELECTRICITY
    upstream: str | None = None  # the meter this one is downstream of (its incomer)
    incomer: bool = False
    """The building's supply meter (a channel in the incomer role)."""


@dataclass(frozen=True, kw_only=True)
class EnergyChanges:
    """What ``async_register_energy_devices`` added to the energy preferences."""

    devices: list[str]
    """Statistics added: electricity and water devices, water and gas sources."""
    grid: str | None = None
    """The incomer's statistic, when it became the grid consumption."""


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


def supports_device_consumption_water() -> bool:
    """Whether this HA's energy preferences have individual water devices (2025.12+)."""
    return DEVICE_CONSUMPTION_WATER in EnergyPreferences.__annotations__


def _entry(device: EnergyDevice, upstream: str | None) -> DeviceConsumption:
    entry: dict[str, Any] = {"stat_consumption": device.stat_consumption}
    if device.name:
        entry["name"] = device.name
    if upstream and upstream != device.stat_consumption and supports_included_in_stat():
        entry[INCLUDED_IN_STAT] = upstream
    validated: DeviceConsumption = DEVICE_CONSUMPTION_SCHEMA(entry)
    return validated


def grid_source(stat_energy_from: str) -> SourceType:
    """A grid source that imports ``stat_energy_from``, in this HA's shape, without prices."""
    if "flow_from" in GridSourceType.__annotations__:  # HA 2025.4 to 2025.x
        prices = {"stat_cost": None, "entity_energy_price": None, "number_energy_price": None}
        legacy = {
            "type": "grid",
            "flow_from": [{"stat_energy_from": stat_energy_from, **prices}],
            "flow_to": [],
            "cost_adjustment_day": 0.0,
        }
        return cast("SourceType", legacy)
    unified = {
        "type": "grid",
        "stat_energy_from": stat_energy_from,
        "stat_energy_to": None,
        "stat_cost": None,
        "entity_energy_price": None,
        "number_energy_price": None,
        "stat_compensation": None,
        "entity_energy_price_export": None,
        "number_energy_price_export": None,
        "cost_adjustment_day": 0.0,
    }
    return cast("SourceType", unified)


def meter_source(device: EnergyDevice) -> SourceType:
    """A water or gas source that reads ``device``, without prices (both HA shapes agree)."""
    schema = WATER_SOURCE_SCHEMA if device.resource is Resource.WATER else GAS_SOURCE_SCHEMA
    source: SourceType = schema(
        {
            "type": device.resource.value,
            "stat_energy_from": device.stat_consumption,
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": None,
        }
    )
    return source


def _source_stats(sources: Sequence[SourceType]) -> set[str]:
    return {str(source.get("stat_energy_from")) for source in sources}


async def async_register_energy_devices(
    hass: HomeAssistant, devices: Sequence[EnergyDevice]
) -> EnergyChanges:
    """Append missing devices to the energy prefs, under the building's incomer when there is
    exactly one, and make that incomer the grid consumption when there is no grid source."""
    manager = await async_get_manager(hass)
    data: dict[str, Any] = dict(manager.data or {})
    current: list[DeviceConsumption] = list(data.get("device_consumption", []))
    sources: list[SourceType] = list(data.get("energy_sources", []))
    update: dict[str, Any] = {}
    added_water = _add_water_and_gas(data, devices, update)
    devices = [device for device in devices if device.resource is Resource.ELECTRICITY]
    known = {entry["stat_consumption"] for entry in current}
    incomers = [device for device in devices if device.incomer]
    incomer = incomers[0] if len(incomers) == 1 else None
    default_upstream = incomer.stat_consumption if incomer else None
    wanted = ([(incomer, None)] if incomer else []) + [
        (device, device.upstream or default_upstream) for device in devices if device is not incomer
    ]

    added: list[DeviceConsumption] = []
    for device, parent in wanted:
        if device.stat_consumption not in known:
            known.add(device.stat_consumption)
            added.append(_entry(device, parent))
    if added:
        update["device_consumption"] = current + added
    grid = None
    if incomer is not None and not any(source["type"] == "grid" for source in sources):
        grid = incomer.stat_consumption
        update["energy_sources"] = [*update.get("energy_sources", sources), grid_source(grid)]
    if update:
        await manager.async_update(cast("EnergyPreferencesUpdate", update))
    return EnergyChanges(
        devices=[entry["stat_consumption"] for entry in added] + added_water, grid=grid
    )


def _add_water_and_gas(
    data: dict[str, Any], devices: Sequence[EnergyDevice], update: dict[str, Any]
) -> list[str]:
    """Put the missing water and gas meters into ``update``; returns their statistics."""
    water_devices: list[DeviceConsumption] = list(data.get(DEVICE_CONSUMPTION_WATER, []))
    sources: list[SourceType] = list(data.get("energy_sources", []))
    known = _source_stats(sources) | {entry["stat_consumption"] for entry in water_devices}
    new_devices: list[DeviceConsumption] = []
    new_sources: list[SourceType] = []
    for device in devices:
        if device.resource not in (Resource.WATER, Resource.GAS):
            continue
        if device.stat_consumption in known:
            continue
        known.add(device.stat_consumption)
        if device.resource is Resource.WATER and supports_device_consumption_water():
            new_devices.append(_entry(device, None))
        else:
            new_sources.append(meter_source(device))
    if new_devices:
        update[DEVICE_CONSUMPTION_WATER] = water_devices + new_devices
    if new_sources:
        update["energy_sources"] = sources + new_sources
    return [entry["stat_consumption"] for entry in new_devices] + [
        str(source.get("stat_energy_from")) for source in new_sources
    ]
