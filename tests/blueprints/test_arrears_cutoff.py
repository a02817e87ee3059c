"""The arrears cut-off blueprint: the thin executor of the ledger's supply decision.

The policy (grace, quiet hours, exemption, approval, guard, reconnect minimum) is the ledger's
and tested there (tests/ledger/test_supply_control.py) and end to end (tests/e2e). Here: the
blueprint acts on exactly ``cut`` and ``restore``, asks for approval with a notification whose
Approve button calls ``approve_cutoff``, and tells the landlord what happened. The executor
action ``tenant_metering.apply_supply_decision`` is stood in for by a service that switches a
template switch as the integration's would, and answers what it did.
"""

from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from tests.integration.common import find_device

from .conftest import LoadBlueprint, TravelTo, state_of

STATUS = "sensor.room_101_status"
BALANCE = "sensor.room_101_balance"
SUPPLY = "switch.room_101_supply"
# The supply switch is a template switch over this boolean, standing in for the breaker.
BREAKER = "input_boolean.room_101_breaker"
DOMAIN = "tenant_metering"
BLUEPRINT = "arrears_cutoff.yaml"


def set_status(hass: HomeAssistant, status: str, **attributes: Any) -> None:
    hass.states.async_set(
        STATUS,
        status,
        {
            "friendly_name": "Room 101 Status",
            "reason": "balance -12.50 EUR is beyond the credit limit",
            "since": "x",
            "supply_action": "none",
            "cutoff_awaiting_approval": False,
        }
        | attributes,
    )


@pytest.fixture
async def tenant(blueprint_hass: HomeAssistant) -> HomeAssistant:
    """Room 101: a tenant device with its status sensor, supply on, no decision yet."""
    hass = blueprint_hass
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "tenant_t101")}, name="Room 101"
    )
    er.async_get(hass).async_get_or_create(
        "sensor",
        DOMAIN,
        "tenant_t101_status",
        suggested_object_id="room_101_status",
        device_id=device.id,
        config_entry=entry,
    )
    assert await async_setup_component(
        hass, "input_boolean", {"input_boolean": {"room_101_breaker": {"initial": True}}}
    )
    # A switch of the `template:` integration, as in HA 2025.4 and current releases.
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
    await hass.async_block_till_done()
    assert state_of(hass, SUPPLY).state == "on"
    return hass


@pytest.fixture
def executor(tenant: HomeAssistant) -> list[ServiceCall]:
    """``apply_supply_decision`` as the integration's: it carries out the sensor's decision."""
    calls: list[ServiceCall] = []

    async def apply(call: ServiceCall) -> ServiceResponse:
        calls.append(call)
        decision = state_of(tenant, STATUS).attributes["supply_action"]
        if decision not in ("cut", "restore"):
            return {"action": "none"}
        service = "turn_off" if decision == "cut" else "turn_on"
        await tenant.services.async_call(
            "switch", service, {"entity_id": SUPPLY}, blocking=True, context=call.context
        )
        return {"action": decision}

    tenant.services.async_register(
        DOMAIN, "apply_supply_decision", apply, supports_response=SupportsResponse.OPTIONAL
    )
    return calls


def inputs(**overrides: Any) -> dict[str, Any]:
    base = {
        "status_sensor": STATUS,
        "balance_sensor": BALANCE,
        "supply_switch": SUPPLY,
        "notify_service": "notify.landlord",
    }
    return base | overrides


def titles(calls: list[ServiceCall]) -> list[str]:
    return [call.data["title"] for call in calls]


def supply(hass: HomeAssistant) -> str:
    return state_of(hass, SUPPLY).state


def tenant_device(hass: HomeAssistant) -> str:
    device = find_device(hass, "tenant_t101")
    assert device is not None
    return device.id


async def test_the_ledgers_cut_is_carried_out_with_notice_before_and_after(
    tenant: HomeAssistant,
    executor: list[ServiceCall],
    landlord: list[ServiceCall],
    tenant_phone: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(tenant_notify_service="notify.room_101"))

    set_status(tenant, "disconnect_due", supply_action="cut")
    await tenant.async_block_till_done()

    assert supply(tenant) == "off"
    assert [call.data["device_id"] for call in executor] == [tenant_device(tenant)]
    assert titles(landlord) == ["Supply cut off: Room 101"]
    assert "-12.50 EUR" in landlord[0].data["message"]
    assert titles(tenant_phone) == ["Your electricity supply is being cut off"]


async def test_the_ledgers_restore_is_carried_out(
    tenant: HomeAssistant,
    executor: list[ServiceCall],
    landlord: list[ServiceCall],
    tenant_phone: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    await load_blueprint(BLUEPRINT, inputs(tenant_notify_service="notify.room_101"))
    set_status(tenant, "disconnect_due", supply_action="cut")
    await tenant.async_block_till_done()
    set_status(tenant, "disconnected")
    await tenant.async_block_till_done()
    assert supply(tenant) == "off"

    tenant.states.async_set(BALANCE, "20.00", {"unit_of_measurement": "EUR"})
    set_status(tenant, "ok", supply_action="restore")
    await tenant.async_block_till_done()

    assert supply(tenant) == "on"
    assert titles(landlord)[-1] == "Supply restored: Room 101"
    assert "20.00 EUR" in landlord[-1].data["message"]
    assert titles(tenant_phone)[-1] == "Your electricity supply is back on"


@pytest.mark.parametrize(
    ("status", "decision"),
    [
        ("disconnect_due", "none"),  # the ledger's decision is the only trigger
        ("disconnected", "none"),  # cut by hand: no restore however much is paid
        ("ok", "unknown"),
        ("unavailable", None),
        ("arrears", "CUT"),  # only the exact words act
    ],
)
async def test_nothing_but_an_exact_decision_switches(
    tenant: HomeAssistant,
    executor: list[ServiceCall],
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
    status: str,
    decision: str | None,
) -> None:
    await load_blueprint(BLUEPRINT, inputs())
    set_status(tenant, status, supply_action=decision)
    await tenant.async_block_till_done()
    await travel_to("2026-11-23 12:05:00+00:00")  # the five-minute check
    assert supply(tenant) == "on"
    assert executor == []
    assert landlord == []


async def test_a_decision_missed_while_not_loaded_is_carried_out_at_the_next_check(
    tenant: HomeAssistant,
    executor: list[ServiceCall],
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
    travel_to: TravelTo,
) -> None:
    set_status(tenant, "disconnect_due", supply_action="cut")
    await load_blueprint(BLUEPRINT, inputs())
    assert supply(tenant) == "on"
    await travel_to("2026-11-23 12:05:00+00:00")
    assert supply(tenant) == "off"
    assert titles(landlord) == ["Supply cut off: Room 101"]


async def test_approval_is_asked_and_the_approve_button_approves_in_the_ledger(
    tenant: HomeAssistant,
    executor: list[ServiceCall],
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    approvals = async_mock_service(tenant, DOMAIN, "approve_cutoff")
    await load_blueprint(BLUEPRINT, inputs())

    set_status(tenant, "arrears", cutoff_awaiting_approval=True)
    await tenant.async_block_till_done()
    assert titles(landlord) == ["Cut-off needs approval: Room 101"]
    actions = landlord[0].data["data"]["actions"]
    assert [a["action"] for a in actions] == [
        f"TENANT_METERING_APPROVE_{STATUS}",
        f"TENANT_METERING_REFUSE_{STATUS}",
    ]
    assert supply(tenant) == "on"

    tenant.bus.async_fire(
        "mobile_app_notification_action", {"action": f"TENANT_METERING_APPROVE_{STATUS}"}
    )
    await tenant.async_block_till_done()
    assert [call.data["device_id"] for call in approvals] == [tenant_device(tenant)]
    assert supply(tenant) == "on"  # the ledger decides the cut once approved

    set_status(tenant, "disconnect_due", supply_action="cut")
    await tenant.async_block_till_done()
    assert supply(tenant) == "off"


async def test_a_refused_cut_off_keeps_the_supply_on(
    tenant: HomeAssistant,
    executor: list[ServiceCall],
    landlord: list[ServiceCall],
    load_blueprint: LoadBlueprint,
) -> None:
    approvals = async_mock_service(tenant, DOMAIN, "approve_cutoff")
    await load_blueprint(BLUEPRINT, inputs())
    set_status(tenant, "arrears", cutoff_awaiting_approval=True)
    await tenant.async_block_till_done()
    tenant.bus.async_fire(
        "mobile_app_notification_action", {"action": f"TENANT_METERING_REFUSE_{STATUS}"}
    )
    await tenant.async_block_till_done()
    assert approvals == []
    assert titles(landlord)[-1] == "Cut-off refused: Room 101"
    assert supply(tenant) == "on"
