"""Tenants' energy sensors land in the energy dashboard's individual devices, once."""

from copy import deepcopy
from typing import Any

from homeassistant.components.energy.data import EnergyManager, async_get_manager
from homeassistant.core import HomeAssistant
import pytest

from custom_components.tenant_metering.energy import (
    EnergyDevice,
    async_register_energy_devices,
    supports_included_in_stat,
)

GRID: dict[str, Any] = {
    "type": "grid",
    "flow_from": [
        {
            "stat_energy_from": "sensor.utility_meter_import",
            "stat_cost": None,
            "entity_energy_price": None,
            "number_energy_price": 0.3,
        }
    ],
    "flow_to": [],
    "cost_adjustment_day": 0.0,
}
USERS_FRIDGE = {"stat_consumption": "sensor.fridge_energy", "name": "Fridge"}
INCOMER = EnergyDevice(stat_consumption="sensor.floor_2_db_incomer_energy", name="Incomer")
ROOMS = [
    EnergyDevice(stat_consumption="sensor.floor_2_db_1_energy", name="Room 201"),
    EnergyDevice(stat_consumption="sensor.floor_2_db_2_energy"),
]


@pytest.fixture
def landlords_prefs(hass_storage: dict[str, Any]) -> None:
    """Energy preferences the landlord already made: a grid source and one device."""
    hass_storage["energy"] = {
        "version": 1,
        "key": "energy",
        "data": {"energy_sources": [GRID], "device_consumption": [USERS_FRIDGE]},
    }


def test_ha_2025_4_accepts_an_upstream_device() -> None:
    assert supports_included_in_stat()


@pytest.mark.usefixtures("landlords_prefs")
async def test_rooms_added_under_the_incomer_and_the_landlords_entries_kept(
    hass: HomeAssistant,
) -> None:
    # The landlord's sources as this HA loaded them (newer releases migrate the stored
    # grid source to their own layout on load); ours must leave them exactly so.
    loaded = (await async_get_manager(hass)).data
    assert loaded is not None
    landlords_sources = deepcopy(loaded["energy_sources"])
    assert [source["type"] for source in landlords_sources] == ["grid"]
    assert "sensor.utility_meter_import" in repr(landlords_sources)

    added = await async_register_energy_devices(hass, ROOMS, INCOMER)

    assert added == [
        "sensor.floor_2_db_incomer_energy",
        "sensor.floor_2_db_1_energy",
        "sensor.floor_2_db_2_energy",
    ]
    prefs = (await async_get_manager(hass)).data
    assert prefs is not None
    assert prefs["energy_sources"] == landlords_sources
    assert prefs["device_consumption"] == [
        USERS_FRIDGE,
        {"stat_consumption": "sensor.floor_2_db_incomer_energy", "name": "Incomer"},
        {
            "stat_consumption": "sensor.floor_2_db_1_energy",
            "name": "Room 201",
            "included_in_stat": "sensor.floor_2_db_incomer_energy",
        },
        {
            "stat_consumption": "sensor.floor_2_db_2_energy",
            "included_in_stat": "sensor.floor_2_db_incomer_energy",
        },
    ]


@pytest.mark.usefixtures("landlords_prefs")
async def test_running_again_changes_nothing(hass: HomeAssistant) -> None:
    await async_register_energy_devices(hass, ROOMS, INCOMER)
    manager = await async_get_manager(hass)
    before = manager.data

    assert await async_register_energy_devices(hass, [*ROOMS, ROOMS[0]], INCOMER) == []
    assert manager.data is before


async def test_without_prefs_or_incomer(hass: HomeAssistant) -> None:
    added = await async_register_energy_devices(hass, ROOMS[:1])

    assert added == ["sensor.floor_2_db_1_energy"]
    prefs = (await async_get_manager(hass)).data
    # Everything but our device is HA's default (newer releases add e.g. water devices).
    assert prefs == EnergyManager.default_preferences() | {
        "device_consumption": [
            {"stat_consumption": "sensor.floor_2_db_1_energy", "name": "Room 201"}
        ],
    }
    assert EnergyManager.default_preferences()["device_consumption"] == []


async def test_without_upstream_support_entries_stay_plain(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "custom_components.tenant_metering.energy.supports_included_in_stat", lambda: False
    )

    await async_register_energy_devices(hass, ROOMS[1:], INCOMER)

    prefs = (await async_get_manager(hass)).data
    assert prefs is not None
    assert prefs["device_consumption"][1] == {"stat_consumption": "sensor.floor_2_db_2_energy"}
