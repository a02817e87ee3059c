"""The arrears cut-off and restore blueprint, driven through its paths with a real switch."""

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import async_mock_service

from .conftest import LoadBlueprint, TravelTo, state_of

STATUS = "sensor.room_101_status"
BALANCE = "sensor.room_101_balance"
SUPPLY = "switch.room_101_supply"
APPROVAL = "input_boolean.room_101_cutoff_approval"
GUARD = "binary_sensor.tenant_metering_cutoff_guard"
# The supply switch is a template switch over this boolean, standing in for the breaker.
BREAKER = "input_boolean.room_101_breaker"

BLUEPRINT = "arrears_cutoff.yaml"


def set_status(hass: HomeAssistant, status: str) -> None:
    hass.states.async_set(
        STATUS, status, {"friendly_name": "Room 101 Status", "reason": "test", "since": "x"}
    )


@pytest.fixture
async def tenant(blueprint_hass: HomeAssistant) -> HomeAssistant:
    """Room 101: in arrears, supply on, guard off, an approval switch that is off."""
    hass = blueprint_hass
    assert await async_setup_component(
        hass,
        "input_boolean",
        {
            "input_boolean": {
                "room_101_breaker": {"initial": True},
                "room_101_cutoff_approval": {"initial": False},
            }
        },
    )
    # A switch of the `template:` integration, as in HA 2025.4 and current releases (which
    # dropped the legacy `switch: platform: template`); the name makes switch.room_101_supply.
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "switch": [
                        {
                            "name": "Room 101 supply",
                            "state": f"{{{{ is_state('{BREAKER}', 'on') }}}}",
                            "turn_on": {
                                "action": "input_boolean.turn_on",
                                "target": {"entity_id": BREAKER},
                            },
                            "turn_off": {
                                "action": "input_boolean.turn_off",
                                "target": {"entity_id": BREAKER},
                            },
                        }
                    ]
                }
            ]
        },
    )
    set_status(hass, "arrears")
    hass.states.async_set(BALANCE, "-12.50", {"unit_of_measurement": "EUR"})
    hass.states.async_set(GUARD, "off")
    await hass.async_block_till_done()
    assert state_of(hass, SUPPLY).state == "on"
    return hass


def inputs(**overrides: Any) -> dict[str, Any]:
    base = {
        "status_sensor": STATUS,
        "balance_sensor": BALANCE,
        "supply_switch": SUPPLY,
        "quiet_start": "20:00:00",
        "quiet_end": "08:00:00",
        "notify_service": "notify.landlord",
        "guard_sensor": GUARD,
    }
    return base | overrides


def titles(calls: list[ServiceCall]) -> list[str]:
    return [call.data["title"] for call in calls]


async def change_status(hass: HomeAssistant, status: str) -> None:
    set_status(hass, status)
    await hass.async_block_till_done()


def supply(hass: HomeAssistant) -> str:
    return state_of(hass, SUPPLY).state


async def test_grace_elapsed_cuts_off_with_notice_before_and_after(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    tenant_phone: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(tenant_notify_service="notify.room_101"))

    await change_status(tenant, "disconnect_due")

    assert supply(tenant) == "off"
    assert titles(landlord) == ["Cutting supply: Room 101", "Supply cut off: Room 101"]
    assert "-12.50 EUR" in landlord[0].data["message"]
    assert titles(tenant_phone) == ["Your electricity supply is being cut off"]


async def test_restore_after_top_up(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    tenant_phone: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(tenant_notify_service="notify.room_101"))
    await change_status(tenant, "disconnect_due")
    await change_status(tenant, "disconnected")
    assert supply(tenant) == "off"

    tenant.states.async_set(BALANCE, "20.00", {"unit_of_measurement": "EUR"})
    await change_status(tenant, "ok")

    assert supply(tenant) == "on"
    assert titles(landlord)[-1] == "Supply restored: Room 101"
    assert "20.00 EUR" in landlord[-1].data["message"]
    assert titles(tenant_phone)[-1] == "Your electricity supply is back on"


@pytest.mark.parametrize("status", ["low", "exempt"])
async def test_restore_on_low_or_exempt(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    status: str,
) -> None:
    await load_blueprint(BLUEPRINT, inputs())
    await change_status(tenant, "disconnect_due")
    assert supply(tenant) == "off"

    await change_status(tenant, status)

    assert supply(tenant) == "on"


async def test_no_cut_off_in_quiet_hours_but_at_their_end(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    await load_blueprint(BLUEPRINT, inputs())
    await travel_to("2026-11-23T23:30:00+00:00")

    await change_status(tenant, "disconnect_due")
    await travel_to("2026-11-24T07:59:00+00:00")
    assert supply(tenant) == "on"
    assert landlord == []

    await travel_to("2026-11-24T08:00:00+00:00")

    assert supply(tenant) == "off"
    assert titles(landlord) == ["Cutting supply: Room 101", "Supply cut off: Room 101"]


async def test_start_equal_to_end_means_no_quiet_hours(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    # HA's time condition with after == before is true all day; the blueprint must read
    # "start = end" as "no quiet hours", as its description says, and cut at any hour.
    await load_blueprint(BLUEPRINT, inputs(quiet_start="22:00:00", quiet_end="22:00:00"))
    await travel_to("2026-11-23T23:30:00+00:00")

    await change_status(tenant, "disconnect_due")

    assert supply(tenant) == "off"
    assert titles(landlord) == ["Cutting supply: Room 101", "Supply cut off: Room 101"]


async def test_quiet_hours_end_does_nothing_for_a_tenant_that_topped_up(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    await load_blueprint(BLUEPRINT, inputs())
    await travel_to("2026-11-23T23:30:00+00:00")
    await change_status(tenant, "disconnect_due")
    await change_status(tenant, "ok")

    await travel_to("2026-11-24T08:00:00+00:00")

    assert supply(tenant) == "on"
    assert landlord == []


@pytest.mark.parametrize("status", ["exempt", "unknown", "unavailable", "arrears"])
async def test_statuses_that_never_cut_power(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
    status: str,
) -> None:
    await load_blueprint(BLUEPRINT, inputs())
    await travel_to("2026-11-23T23:30:00+00:00")
    await change_status(tenant, status)

    await travel_to("2026-11-24T08:00:00+00:00")

    assert supply(tenant) == "on"
    assert landlord == []


async def test_approval_given_with_the_approval_switch(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(require_approval=True, approval_switch=APPROVAL))

    await change_status(tenant, "disconnect_due")
    assert supply(tenant) == "on"
    assert titles(landlord) == ["Cut-off needs approval: Room 101"]
    actions = landlord[0].data["data"]["actions"]
    assert [action["action"] for action in actions] == [
        f"TENANT_METERING_APPROVE_{STATUS}",
        f"TENANT_METERING_REFUSE_{STATUS}",
    ]
    assert APPROVAL in landlord[0].data["message"]

    await tenant.services.async_call("input_boolean", "turn_on", {"entity_id": APPROVAL})
    await tenant.async_block_till_done()

    assert supply(tenant) == "off"
    # One approval, one cut-off: the switch is consumed.
    assert state_of(tenant, APPROVAL).state == "off"
    assert titles(landlord)[1:] == ["Cutting supply: Room 101", "Supply cut off: Room 101"]


async def test_approval_refused_keeps_supply_on(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(require_approval=True, approval_switch=APPROVAL))
    await change_status(tenant, "disconnect_due")

    tenant.bus.async_fire(
        "mobile_app_notification_action", {"action": f"TENANT_METERING_REFUSE_{STATUS}"}
    )
    await tenant.async_block_till_done()
    await travel_to("2026-11-23T19:00:00+00:00")

    assert supply(tenant) == "on"
    assert state_of(tenant, APPROVAL).state == "off"
    assert titles(landlord) == [
        "Cut-off needs approval: Room 101",
        "Cut-off refused: Room 101",
    ]


async def test_approval_from_the_phone_notification(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(require_approval=True))
    await change_status(tenant, "disconnect_due")
    assert supply(tenant) == "on"

    tenant.bus.async_fire(
        "mobile_app_notification_action", {"action": "TENANT_METERING_APPROVE_sensor.other"}
    )
    await tenant.async_block_till_done()
    assert supply(tenant) == "on"

    tenant.bus.async_fire(
        "mobile_app_notification_action", {"action": f"TENANT_METERING_APPROVE_{STATUS}"}
    )
    await tenant.async_block_till_done()

    assert supply(tenant) == "off"


async def test_approval_in_quiet_hours_waits_for_their_end(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(require_approval=True, approval_switch=APPROVAL))
    await change_status(tenant, "disconnect_due")
    await travel_to("2026-11-23T22:00:00+00:00")

    await tenant.services.async_call("input_boolean", "turn_on", {"entity_id": APPROVAL})
    await tenant.async_block_till_done()
    assert supply(tenant) == "on"
    assert titles(landlord)[-1] == "Cut-off postponed: Room 101"

    await travel_to("2026-11-24T08:00:00+00:00")

    assert supply(tenant) == "off"
    assert state_of(tenant, APPROVAL).state == "off"


@pytest.mark.parametrize("guard_state", ["on", "unavailable", None])
async def test_tripped_or_missing_guard_waits_for_approval(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    guard_state: str | None,
) -> None:
    if guard_state is None:
        tenant.states.async_remove(GUARD)
    else:
        tenant.states.async_set(GUARD, guard_state)
    await load_blueprint(BLUEPRINT, inputs(approval_switch=APPROVAL))

    await change_status(tenant, "disconnect_due")

    assert supply(tenant) == "on"
    assert titles(landlord) == ["Cut-off needs approval: Room 101"]
    assert "cut-off guard is on" in landlord[0].data["message"]

    await tenant.services.async_call("input_boolean", "turn_on", {"entity_id": APPROVAL})
    await tenant.async_block_till_done()

    assert supply(tenant) == "off"


async def test_breaker_that_does_not_switch_is_reported(
    tenant: HomeAssistant,
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    # A supply entity that ignores commands, like a breaker that never acknowledges.
    tenant.states.async_set("switch.stuck_supply", "on")
    async_mock_service(tenant, "switch", "turn_off")
    await load_blueprint(BLUEPRINT, inputs(supply_switch="switch.stuck_supply"))

    set_status(tenant, "disconnect_due")
    # The run now waits (one minute) for the switch to report off; no block_till_done here.
    for _ in range(20):
        await asyncio.sleep(0)
    await travel_to("2026-11-23T12:01:01+00:00")

    assert titles(landlord) == ["Cutting supply: Room 101", "Supply NOT cut off: Room 101"]
    assert "check the breaker" in landlord[-1].data["message"]
