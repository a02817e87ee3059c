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
    supports_device_consumption_water,
    supports_included_in_stat,
)
from custom_components.tenant_metering.resources import Resource

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


WATER_METER = EnergyDevice(
    stat_consumption="sensor.room_7_cold_water", name="Room 7 water", resource=Resource.WATER
)
GAS_METER = EnergyDevice(stat_consumption="sensor.kitchen_gas", resource=Resource.GAS)


def _price_free_source(kind: str, stat: str) -> dict[str, Any]:
    return {
        "type": kind,
        "stat_energy_from": stat,
        "stat_cost": None,
        "entity_energy_price": None,
        "number_energy_price": None,
    }


def test_ha_2025_4_has_no_individual_water_devices() -> None:
    """2025.12 added them; the newest-HA run takes the other branch of the test below."""
    assert supports_device_consumption_water() is (
        "device_consumption_water" in EnergyManager.default_preferences()
    )


@pytest.mark.usefixtures("landlords_prefs")
async def test_water_and_gas_meters_in_this_has_shape(hass: HomeAssistant) -> None:
    """Water: an individual water device where HA has them, else a water source; gas: a gas
    source. Electricity devices are placed as before, and water is never under the incomer."""
    changes = await async_register_energy_devices(hass, [*ROOMS, INCOMER, WATER_METER, GAS_METER])

    prefs = (await async_get_manager(hass)).data
    assert prefs is not None
    assert ENERGY_SOURCE_SCHEMA(prefs["energy_sources"]) == prefs["energy_sources"]
    stats = [device["stat_consumption"] for device in prefs["device_consumption"]]
    assert WATER_METER.stat_consumption not in stats
    assert GAS_METER.stat_consumption not in stats
    assert stats[1:] == [INCOMER.stat_consumption, *(room.stat_consumption for room in ROOMS)]
    gas = _price_free_source("gas", GAS_METER.stat_consumption)
    if supports_device_consumption_water():
        water_devices = prefs["device_consumption_water"]  # type: ignore[typeddict-item]
        assert water_devices == [
            {"stat_consumption": WATER_METER.stat_consumption, "name": "Room 7 water"}
        ]
        assert prefs["energy_sources"][1:] == [gas]
    else:
        water = _price_free_source("water", WATER_METER.stat_consumption)
        assert prefs["energy_sources"][1:] == [water, gas]
    assert set(changes.devices) >= {WATER_METER.stat_consumption, GAS_METER.stat_consumption}

    again = await async_register_energy_devices(hass, [WATER_METER, GAS_METER, *ROOMS, INCOMER])
    assert again == EnergyChanges(devices=[], grid=None)


async def test_water_devices_where_ha_has_them(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newer shape, asked of this HA: the update carries the water devices, no source."""
    monkeypatch.setattr(
        "custom_components.tenant_metering.energy.supports_device_consumption_water", lambda: True
    )
    manager = await async_get_manager(hass)
    updates: list[dict[str, Any]] = []
    monkeypatch.setattr(manager, "async_update", _recording(updates))

    changes = await async_register_energy_devices(hass, [WATER_METER, INCOMER])

    assert changes == EnergyChanges(
        devices=[INCOMER.stat_consumption, WATER_METER.stat_consumption],
        grid=INCOMER.stat_consumption,
    )
    (update,) = updates
    assert update["device_consumption_water"] == [
        {"stat_consumption": WATER_METER.stat_consumption, "name": "Room 7 water"}
    ]
    assert [source["type"] for source in update["energy_sources"]] == ["grid"]


def _recording(updates: list[dict[str, Any]]) -> Any:
    async def async_update(update: dict[str, Any]) -> None:
        updates.append(update)

    return async_update
