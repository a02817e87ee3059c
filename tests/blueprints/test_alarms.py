"""Low-balance alarm, quota warning and breaker alert blueprints, driven through HA."""

from homeassistant.core import HomeAssistant, ServiceCall
import pytest

from .conftest import LoadBlueprint, TravelTo

STATUS = "sensor.room_101_status"
BALANCE = "sensor.room_101_balance"
ENERGY = "sensor.room_101_period_energy"
COST = "sensor.room_101_period_cost"
QUOTA = "sensor.room_101_quota_remaining"
RELAY = "switch.floor_2_db_1_relay"


def low_balance_inputs(**overrides: str) -> dict[str, str]:
    return {
        "status_sensor": STATUS,
        "balance_sensor": BALANCE,
        "period_energy_sensor": ENERGY,
        "period_cost_sensor": COST,
        "notify_service": "notify.landlord",
    } | overrides


def set_tenant(hass: HomeAssistant, *, balance: str, cost: str, energy: str, status: str) -> None:
    """Room 101 whose billing period started on 2026-11-13, ten days before 'now'."""
    hass.states.async_set(STATUS, status, {"friendly_name": "Room 101 Status"})
    hass.states.async_set(BALANCE, balance, {"unit_of_measurement": "EUR"})
    hass.states.async_set(
        COST, cost, {"unit_of_measurement": "EUR", "last_reset": "2026-11-13T12:00:00+00:00"}
    )
    hass.states.async_set(ENERGY, energy, {"unit_of_measurement": "kWh"})


async def test_low_balance_message_gives_balance_and_days_left(
    blueprint_hass: HomeAssistant,
    landlord: list[ServiceCall],
    tenant_phone: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    hass = blueprint_hass
    set_tenant(hass, balance="12.00", cost="40.00", energy="160.000", status="ok")
    await load_blueprint(
        "low_balance_alarm.yaml", low_balance_inputs(tenant_notify_service="notify.room_101")
    )

    set_tenant(hass, balance="12.00", cost="40.00", energy="160.000", status="low")
    await hass.async_block_till_done()

    # 40.00 EUR over 10 days = 4.00 EUR/day; 12.00 EUR lasts 3 days; 160 kWh / 10 = 16.
    assert [call.data for call in landlord] == [
        {
            "title": "Low balance: Room 101",
            "message": "Room 101: balance 12.00 EUR, about 3.0 days left at 4.00 EUR/day "
            "(16.0 kWh/day).",
        }
    ]
    assert tenant_phone[0].data["message"].endswith("Please top up to avoid a cut-off.")


async def test_low_balance_days_left_unknown_without_cost(
    blueprint_hass: HomeAssistant, landlord: list[ServiceCall], load_blueprint: LoadBlueprint
) -> None:
    hass = blueprint_hass
    set_tenant(hass, balance="12.00", cost="unknown", energy="unknown", status="ok")
    await load_blueprint("low_balance_alarm.yaml", low_balance_inputs())

    set_tenant(hass, balance="12.00", cost="unknown", energy="unknown", status="low")
    await hass.async_block_till_done()

    assert landlord[0].data["message"] == "Room 101: balance 12.00 EUR, about unknown days left."


async def test_low_balance_falls_back_to_the_start_of_the_month(
    blueprint_hass: HomeAssistant, landlord: list[ServiceCall], load_blueprint: LoadBlueprint
) -> None:
    hass = blueprint_hass
    hass.states.async_set(STATUS, "ok", {"friendly_name": "Room 101 Status"})
    hass.states.async_set(BALANCE, "0.00", {"unit_of_measurement": "EUR"})
    # No last_reset: the period is taken as 1 November 00:00 to 23 November 12:00 (22.5 days).
    hass.states.async_set(COST, "45.00", {"unit_of_measurement": "EUR"})
    hass.states.async_set(ENERGY, "90", {"unit_of_measurement": "kWh"})
    await load_blueprint("low_balance_alarm.yaml", low_balance_inputs())

    hass.states.async_set(STATUS, "low", {"friendly_name": "Room 101 Status"})
    await hass.async_block_till_done()

    assert landlord[0].data["message"] == (
        "Room 101: balance 0.00 EUR, about 0 days left at 2.00 EUR/day (4.0 kWh/day)."
    )


@pytest.mark.parametrize("previous", ["low", "unavailable", "unknown"])
async def test_low_balance_not_repeated_after_reconnect(
    blueprint_hass: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    previous: str,
) -> None:
    hass = blueprint_hass
    set_tenant(hass, balance="1.00", cost="4.00", energy="10", status=previous)
    await load_blueprint("low_balance_alarm.yaml", low_balance_inputs())

    set_tenant(hass, balance="1.00", cost="4.00", energy="10", status="low")
    await hass.async_block_till_done()

    assert landlord == []


QUOTA_INPUTS = {
    "quota_remaining_sensor": QUOTA,
    "thresholds": ["50", "25", "10"],
    "notify_service": "notify.landlord",
}


async def quota_steps(hass: HomeAssistant, *values: str, quota: str | None = "100.000") -> None:
    for value in values:
        hass.states.async_set(
            QUOTA, value, {"quota_kwh": quota, "friendly_name": "Room 101 Quota remaining"}
        )
        await hass.async_block_till_done()


async def test_quota_warns_once_per_threshold_and_at_exhaustion(
    blueprint_hass: HomeAssistant, landlord: list[ServiceCall], load_blueprint: LoadBlueprint
) -> None:
    hass = blueprint_hass
    await quota_steps(hass, "80.000")
    await load_blueprint("quota_warning.yaml", QUOTA_INPUTS)

    await quota_steps(hass, "60.000", "50.000", "49.000", "30.000", "5.000", "0.000", "0.000")

    assert [call.data["title"] for call in landlord] == [
        "Quota 50% left: Room 101",
        "Quota 10% left: Room 101",  # 30 → 5 crosses 25 and 10: the lowest is reported
        "Quota used up: Room 101",
    ]
    assert landlord[0].data["message"] == "Room 101 has 50.0 kWh left of 100.0 kWh (50%)."
    assert landlord[2].data["message"] == (
        "Room 101 has used the whole allowance of 100.0 kWh for this period."
    )


async def test_quota_period_reset_and_no_quota_are_silent(
    blueprint_hass: HomeAssistant, landlord: list[ServiceCall], load_blueprint: LoadBlueprint
) -> None:
    hass = blueprint_hass
    await quota_steps(hass, "3.000")
    await load_blueprint("quota_warning.yaml", QUOTA_INPUTS)

    await quota_steps(hass, "100.000", "unavailable", "40.000")
    await quota_steps(hass, "60.000", "1.000", quota=None)

    assert landlord == []


async def test_breaker_offline_for_n_minutes_is_reported(
    blueprint_hass: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    hass = blueprint_hass
    hass.states.async_set(RELAY, "on", {"friendly_name": "Floor 2 DB Room 201 relay"})
    await load_blueprint(
        "breaker_alert.yaml",
        {"relay_switches": [RELAY], "offline_minutes": 5, "notify_service": "notify.landlord"},
    )

    hass.states.async_set(RELAY, "unavailable", {"friendly_name": "Floor 2 DB Room 201 relay"})
    await hass.async_block_till_done()
    await travel_to("2026-11-23T12:03:00+00:00")
    hass.states.async_set(RELAY, "on", {"friendly_name": "Floor 2 DB Room 201 relay"})
    await hass.async_block_till_done()
    await travel_to("2026-11-23T12:10:00+00:00")
    assert landlord == []

    hass.states.async_set(RELAY, "unavailable", {"friendly_name": "Floor 2 DB Room 201 relay"})
    await hass.async_block_till_done()
    await travel_to("2026-11-23T12:15:01+00:00")

    assert [call.data for call in landlord] == [
        {
            "title": "Breaker offline: Floor 2 DB Room 201 relay",
            "message": "Floor 2 DB Room 201 relay has been unavailable since 12:10. Its supply "
            "can be neither cut nor restored until it is back.",
        }
    ]


@pytest.mark.parametrize(("watched", "alerts"), [([RELAY], 1), ([], 2)])
async def test_command_failed_event_is_reported(
    blueprint_hass: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    watched: list[str],
    alerts: int,
) -> None:
    hass = blueprint_hass
    await load_blueprint(
        "breaker_alert.yaml", {"relay_switches": watched, "notify_service": "notify.landlord"}
    )

    for entity_id in (RELAY, "switch.other_2_relay"):
        hass.bus.async_fire(
            "tenant_metering_command_failed",
            {"entity_id": entity_id, "channel": "1", "error": "no ack within 10 s"},
        )
    await hass.async_block_till_done()

    assert len(landlord) == alerts
    assert landlord[0].data == {
        "title": f"Breaker command failed: {RELAY}",
        "message": "Channel 1 did not switch: no ack within 10 s.",
    }
