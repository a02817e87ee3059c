"""Services: top up, adjust, set exemption, approve cut-off — through the ledger's API."""

from decimal import Decimal
from unittest.mock import MagicMock, patch

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.tenant_metering.const import DOMAIN
from custom_components.tenant_metering.dashboard import TenantDashboardInfo
from custom_components.tenant_metering.services import parse_amount

from .common import fire, state_of
from .fake_ledger import FakeLedger, tenant_state
from .test_ledger_link import TENANT_TOPIC, setup_ledger


def _tenant_device(hass: HomeAssistant, tenant_id: str = "t101") -> str:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"tenant_{tenant_id}")})
    assert device is not None
    return device.id


async def test_top_up_then_balance_entity_follows_the_ledger(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_admin_user: MockUser,
) -> None:
    await setup_ledger(hass, fake_ledger)
    response = await hass.services.async_call(
        DOMAIN,
        "top_up",
        {"device_id": _tenant_device(hass), "amount": "10.10", "reason": "cash at desk"},
        blocking=True,
        return_response=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert response == {"entry_id": "2", "balance": "22.44"}  # the 2nd request it saw
    assert fake_ledger.requests[-1] == (
        "POST",
        "/api/tenants/t101/topups",
        {"amount": "10.10", "reason": "cash at desk", "actor": hass_admin_user.name},
    )
    # The ledger republishes the tenant's retained state; the entity follows.
    fire(hass, TENANT_TOPIC, tenant_state(balance="22.44"))
    await hass.async_block_till_done()
    assert state_of(hass, "sensor.room_101_balance") == "22.44"


async def test_adjust_accepts_negative_numbers_exactly(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    await hass.services.async_call(
        DOMAIN,
        "adjust",
        {"device_id": _tenant_device(hass), "amount": -2.1, "reason": "meter misread"},
        blocking=True,
    )
    method, path, body = fake_ledger.requests[-1]
    assert (method, path) == ("POST", "/api/tenants/t101/adjustments")
    assert body == {"amount": "-2.1", "reason": "meter misread"}  # no actor: the token's name


async def test_set_exemption_and_approve_cutoff(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    device_id = _tenant_device(hass)
    await hass.services.async_call(
        DOMAIN,
        "set_exemption",
        {
            "device_id": device_id,
            "exempt": True,
            "reason": "medical",
            "until": "2026-12-01T00:00:00+00:00",
        },
        blocking=True,
    )
    assert fake_ledger.requests[-1] == (
        "PUT",
        "/api/tenants/t101/exemption",
        {"exempt": True, "reason": "medical", "until": "2026-12-01T00:00:00+00:00"},
    )
    await hass.services.async_call(
        DOMAIN, "approve_cutoff", {"device_id": device_id, "reason": "3 reminders"}, blocking=True
    )
    assert fake_ledger.requests[-1] == (
        "POST",
        "/api/tenants/t101/cutoff-approvals",
        {"reason": "3 reminders"},
    )


@pytest.mark.parametrize(
    ("amount", "key"),
    [("ten", "invalid_amount"), ("1.00001", "invalid_amount"), ("NaN", "invalid_amount"),
     ("0", "amount_not_positive"), ("-5", "amount_not_positive")],
)  # fmt: skip
async def test_bad_amounts_are_refused_before_the_ledger(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger, amount: str, key: str
) -> None:
    await setup_ledger(hass, fake_ledger)
    before = len(fake_ledger.requests)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "top_up",
            {"device_id": _tenant_device(hass), "amount": amount, "reason": "x"},
            blocking=True,
        )
    assert raised.value.translation_key == key
    assert len(fake_ledger.requests) == before


async def test_not_a_tenant(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "approve_cutoff", {"device_id": "nope", "reason": "x"}, blocking=True
        )
    assert raised.value.translation_key == "not_a_tenant"


async def test_ledger_refusal_and_outage_are_clear_errors(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    device_id = _tenant_device(hass)
    del fake_ledger.tenants["t101"]
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "top_up", {"device_id": device_id, "amount": "1", "reason": "x"}, blocking=True
        )
    assert raised.value.translation_key == "ledger_rejected"
    assert "no such tenant" in str(raised.value)

    fake_ledger.down = True
    with pytest.raises(HomeAssistantError) as outage:
        await hass.services.async_call(
            DOMAIN, "top_up", {"device_id": device_id, "amount": "1", "reason": "x"}, blocking=True
        )
    assert outage.value.translation_key == "ledger_cannot_connect"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.10", Decimal("10.10")), (10.1, Decimal("10.1")), (7, Decimal(7)),
     (" -2.50 ", Decimal("-2.50")), (0.1 + 0.2, Decimal("0.30000000000000004"))],
)  # fmt: skip
def test_parse_amount(value: object, expected: Decimal) -> None:
    if expected.as_tuple().exponent < -4:  # type: ignore[operator]
        with pytest.raises(ServiceValidationError):
            parse_amount(value)
    else:
        assert parse_amount(value) == expected
        assert str(parse_amount(value)) == str(expected)


async def test_publish_dashboards_builds_the_tenants_dashboard(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    assert await async_setup_component(hass, "lovelace", {})
    await setup_ledger(hass, fake_ledger)
    with patch("custom_components.tenant_metering.services.async_publish_dashboards") as publish:
        await hass.services.async_call(DOMAIN, "publish_dashboards", {}, blocking=True)
    (tenants,) = publish.call_args.args[1:]
    assert tenants == [
        TenantDashboardInfo(
            tenant_id="t101",
            name="Room 101",
            status="sensor.room_101_status",
            balance="sensor.room_101_balance",
            period_energy="sensor.room_101_period_energy",
            period_cost="sensor.room_101_period_cost",
            supply="switch.room_101_supply",
            quota_remaining="sensor.room_101_quota_remaining",
        )
    ]


async def test_publish_dashboards_needs_the_ledger(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "publish_dashboards", {}, blocking=True)
    assert raised.value.translation_key == "ledger_not_loaded"
