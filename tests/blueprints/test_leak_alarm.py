"""The leak alarm blueprint: the ledger's leak event reaches the landlord, for the points picked."""

from homeassistant.core import HomeAssistant, ServiceCall
import pytest

from custom_components.tenant_metering.const import EVENT_LEAK

from .conftest import LoadBlueprint

ROOM_1 = "binary_sensor.tenant_metering_ledger_leak_water_room1"
ROOM_2 = "binary_sensor.tenant_metering_ledger_leak_water_room2"


def _leak(entity_id: str, point: str) -> dict[str, object]:
    return {
        "point": point,
        "entity_id": entity_id,
        "alarm_id": 3,
        "night": "2026-11-22",
        "window": "23:00-05:00",
        "minimum_per_hour": 8,
        "lowest_per_hour": 12,
        "volume": 72,
    }


@pytest.mark.parametrize(("watched", "alerts"), [([ROOM_1], 1), ([], 2)])
async def test_a_leak_at_night_reaches_the_landlord(
    blueprint_hass: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    watched: list[str],
    alerts: int,
) -> None:
    hass = blueprint_hass
    hass.states.async_set(
        ROOM_1, "on", {"friendly_name": "Tenant Metering Ledger Leak water:room1"}
    )
    await load_blueprint(
        "leak_alarm.yaml", {"leak_sensors": watched, "notify_service": "notify.landlord"}
    )
    hass.bus.async_fire(EVENT_LEAK, _leak(ROOM_1, "water:room1"))
    hass.bus.async_fire(EVENT_LEAK, _leak(ROOM_2, "water:room2"))
    await hass.async_block_till_done()

    assert len(landlord) == alerts
    assert landlord[0].data == {
        "title": "Possible leak: Tenant Metering Ledger Leak water:room1",
        "message": "water:room1 counted at least 12 per hour through the whole night of "
        "2026-11-22 (watch minimum 8, 72 in the window). Check for a running toilet or a "
        "dripping tap, then acknowledge the alarm on the ledger.",
    }
