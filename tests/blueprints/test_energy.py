"""Tenants' energy sensors land in the energy dashboard's individual devices, once."""

from copy import deepcopy
from typing import Any

from homeassistant.components.energy.data import (
    ENERGY_SOURCE_SCHEMA,
    EnergyManager,
    async_get_manager,
)
from homeassistant.core import HomeAssistant
import pytest

from custom_components.tenant_metering.energy import (
    EnergyChanges,
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
INCOMER = EnergyDevice(
    stat_consumption="sensor.floor_2_db_incomer_energy", name="Incomer", incomer=True
)
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

    changes = await async_register_energy_devices(hass, [*ROOMS, INCOMER])

    assert changes.grid is None, "the landlord's grid source stays the only one"
    assert changes.devices == [
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
    await async_register_energy_devices(hass, [INCOMER, *ROOMS])
    manager = await async_get_manager(hass)
    before = manager.data

    again = await async_register_energy_devices(hass, [*ROOMS, ROOMS[0], INCOMER])
    assert again == EnergyChanges(devices=[], grid=None)
    assert manager.data is before


async def test_without_prefs_or_incomer(hass: HomeAssistant) -> None:
    changes = await async_register_energy_devices(hass, ROOMS[:1])

    assert changes == EnergyChanges(devices=["sensor.floor_2_db_1_energy"], grid=None)
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

    await async_register_energy_devices(hass, [INCOMER, *ROOMS[1:]])

    prefs = (await async_get_manager(hass)).data
    assert prefs is not None
    assert prefs["device_consumption"][1] == {"stat_consumption": "sensor.floor_2_db_2_energy"}


async def test_the_one_incomer_becomes_the_grid_when_there_is_none(hass: HomeAssistant) -> None:
    changes = await async_register_energy_devices(hass, [*ROOMS, INCOMER])

    assert changes.grid == INCOMER.stat_consumption
    prefs = (await async_get_manager(hass)).data
    assert prefs is not None
    # In this HA's own shape: its schema accepts it, and it imports the incomer.
    assert ENERGY_SOURCE_SCHEMA(prefs["energy_sources"]) == prefs["energy_sources"]
    assert [source["type"] for source in prefs["energy_sources"]] == ["grid"]
    assert INCOMER.stat_consumption in repr(prefs["energy_sources"])
    assert [device.get("included_in_stat") for device in prefs["device_consumption"]] == [
        None,
        INCOMER.stat_consumption,
        INCOMER.stat_consumption,
    ]
    again = await async_register_energy_devices(hass, [*ROOMS, INCOMER])
    assert again == EnergyChanges(devices=[], grid=None)


async def test_two_incomers_leave_the_rest_unassigned_and_no_grid(hass: HomeAssistant) -> None:
    other = EnergyDevice(stat_consumption="sensor.annex_incomer_energy", incomer=True)
    changes = await async_register_energy_devices(hass, [INCOMER, other, *ROOMS])

    assert changes.grid is None, "which of two incomers is the grid is the landlord's call"
    prefs = (await async_get_manager(hass)).data
    assert prefs is not None
    assert prefs["energy_sources"] == []
    assert all("included_in_stat" not in device for device in prefs["device_consumption"])
