"""Services: top up, adjust, set exemption, approve cut-off — through the ledger's API."""

from unittest.mock import MagicMock, patch

from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.tenant_metering.const import DOMAIN
from custom_components.tenant_metering.dashboard import (
    TenantDashboardInfo,
    build_dashboard_config,
)
from custom_components.tenant_metering.services import parse_amount

from .common import find_device, fire, state_of
from .fake_ledger import FakeLedger, tenant_state
from .test_ledger_link import TENANT_TOPIC, setup_ledger


def _tenant_device(hass: HomeAssistant, tenant_id: str = "t101") -> str:
    device = find_device(hass, f"tenant_{tenant_id}")
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
    assert response == {"entry_id": "1", "balance": "22.44"}  # the ledger's first posting
    method, path, body = fake_ledger.requests[-1]
    assert (method, path) == ("POST", "/api/tenants/t101/topups")
    assert body.pop("ref").startswith("ha:")
    assert body == {"amount": "10.10", "reason": "cash at desk", "actor": hass_admin_user.name}
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
        {"device_id": _tenant_device(hass), "amount": "-2.10", "reason": "meter misread"},
        blocking=True,
    )
    method, path, body = fake_ledger.requests[-1]
    assert (method, path) == ("POST", "/api/tenants/t101/adjustments")
    body.pop("ref")
    assert body == {"amount": "-2.10", "reason": "meter misread"}  # no actor: the token's name


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
    approval = {"device_id": device_id, "reason": "3 reminders"}
    # As the ledger: nothing to approve for an exempt tenant.
    with pytest.raises(ServiceValidationError, match="no cut-off is due"):
        await hass.services.async_call(DOMAIN, "approve_cutoff", approval, blocking=True)
    fake_ledger.tenants["t101"]["status"] = "arrears"
    await hass.services.async_call(DOMAIN, "approve_cutoff", approval, blocking=True)
    assert fake_ledger.requests[-1] == (
        "POST",
        "/api/tenants/t101/cutoff-approvals",
        {"reason": "3 reminders"},
    )


@pytest.mark.parametrize(
    ("amount", "key"),
    [("ten", "invalid_amount"), ("NaN", "invalid_amount"), ("1e2", "invalid_amount"),
     ("1_000", "invalid_amount"), ("+5", "invalid_amount"), (".5", "invalid_amount"),
     ("\u0661\u0662", "invalid_amount"), ("\uff11\uff12", "invalid_amount"),
     ("1 000", "invalid_amount"), (10.1, "amount_not_text"), (True, "invalid_amount"),
     ("0", "amount_not_positive"), ("-5", "amount_not_positive")],
)  # fmt: skip
async def test_bad_amounts_are_refused_before_the_ledger(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger, amount: object, key: str
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
    [("10.10", "10.10"), (7, "7"), (-3, "-3"), (" -2.50 ", "-2.50"), ("1500", "1500"),
     ("1.125", "1.125"), ("10.005", "10.005")],
)  # fmt: skip
def test_parse_amount_keeps_the_text(value: object, expected: str) -> None:
    """The text goes to the ledger as written: the ledger alone judges its decimals."""
    assert parse_amount(value) == expected


@pytest.mark.parametrize(
    ("value", "key"),
    [(10.1, "amount_not_text"), (0.1 + 0.2, "amount_not_text"), (False, "invalid_amount"),
     ([], "invalid_amount"), ("Infinity", "invalid_amount"), ("1e400", "invalid_amount"),
     ("10,5", "invalid_amount"), ("5.", "invalid_amount"), ("", "invalid_amount")],
)  # fmt: skip
def test_parse_amount_refuses(value: object, key: str) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        parse_amount(value)
    assert raised.value.translation_key == key


async def test_the_ledger_judges_the_decimals_and_its_words_are_shown(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    fake_ledger.tenants["t101"].update(currency="JPY", balance="1200")
    await setup_ledger(hass, fake_ledger)
    fake_ledger.refusal = {
        "code": "invalid_amount",
        "message": "amount has more decimals than JPY allows (0)",
    }
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "top_up",
            {"device_id": _tenant_device(hass), "amount": "100.50", "reason": "x"},
            blocking=True,
        )
    assert raised.value.translation_key == "ledger_rejected"
    assert "more decimals than JPY allows (0)" in str(raised.value)
    assert fake_ledger.requests[-1][2]["amount"] == "100.50"
    assert fake_ledger.tenants["t101"]["balance"] == "1200"


async def test_a_retried_call_posts_once(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    """The same call again (an automation's retry: the same context) answers with the entry
    the first one made; another amount in the same context is another posting."""
    await setup_ledger(hass, fake_ledger)
    context = Context()
    data = {"device_id": _tenant_device(hass), "amount": "5.00", "reason": "transfer"}
    answers = [
        await hass.services.async_call(
            DOMAIN, "top_up", data, blocking=True, return_response=True, context=context
        )
        for _ in range(3)
    ]
    assert answers[0] == answers[1] == answers[2]
    assert fake_ledger.tenants["t101"]["balance"] == "17.34"  # 12.34 + 5.00, once
    other = data | {"amount": "1.00"}
    await hass.services.async_call(DOMAIN, "top_up", other, blocking=True, context=context)
    assert fake_ledger.tenants["t101"]["balance"] == "18.34"
    refs = [body["ref"] for method, _path, body in fake_ledger.requests if method == "POST"]
    assert len(set(refs)) == 2
    assert all(ref.startswith(f"ha:{context.id}:") for ref in refs)


async def test_an_answer_lost_after_posting_is_retried_and_posts_once(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fake_ledger.lose_answers = 1
    response = await hass.services.async_call(
        DOMAIN,
        "adjust",
        {"device_id": _tenant_device(hass), "amount": "-2.00", "reason": "fee"},
        blocking=True,
        return_response=True,
    )
    assert fake_ledger.tenants["t101"]["balance"] == "10.34"  # posted once
    assert response == {"entry_id": str(fake_ledger.posted.popitem()[1]), "balance": "10.34"}
    posts = [request for request in fake_ledger.requests if request[0] == "POST"]
    assert len(posts) == 2  # the lost answer, then the retry with the same ref
    assert posts[0][2]["ref"] == posts[1][2]["ref"]


@pytest.mark.parametrize(
    ("service", "data"),
    [("top_up", {"amount": "10.00", "reason": "x"}), ("adjust", {"amount": "10.00", "reason": "x"}),
     ("set_exemption", {"exempt": True, "reason": "x"}), ("approve_cutoff", {"reason": "x"}),
     ("publish_dashboards", None), ("register_energy_devices", None)],
)  # fmt: skip
async def test_tenants_cannot_call_the_services(
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    fake_ledger: FakeLedger,
    hass_user: MockUser,
    service: str,
    data: dict[str, object] | None,
) -> None:
    assert await async_setup_component(hass, "lovelace", {})
    await setup_ledger(hass, fake_ledger)
    before = len(fake_ledger.requests)
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            service,
            {} if data is None else {"device_id": _tenant_device(hass), **data},
            blocking=True,
            context=Context(user_id=hass_user.id),
        )
    assert len(fake_ledger.requests) == before


async def test_refused_token_during_a_call_starts_reauth(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    entry = await setup_ledger(hass, fake_ledger)
    entry.runtime_data.client._token = "revoked"
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "approve_cutoff",
            {"device_id": _tenant_device(hass), "reason": "x"},
            blocking=True,
        )
    assert raised.value.translation_key == "ledger_auth_failed"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [(flow["context"]["source"], flow["step_id"]) for flow in flows] == [
        ("reauth", "reauth_confirm")
    ]


async def test_ledger_server_error_is_not_the_callers_fault(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    await setup_ledger(hass, fake_ledger)
    fake_ledger.fail_status = 500
    with pytest.raises(HomeAssistantError) as raised:
        await hass.services.async_call(
            DOMAIN,
            "top_up",
            {"device_id": _tenant_device(hass), "amount": "1", "reason": "x"},
            blocking=True,
        )
    assert not isinstance(raised.value, ServiceValidationError)
    assert raised.value.translation_key == "ledger_failed"


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


async def test_publish_dashboards_shows_a_tenant_to_their_linked_users(
    hass: HomeAssistant, mqtt_mock: MagicMock, fake_ledger: FakeLedger
) -> None:
    fake_ledger.tenants["t101"]["ha_user_ids"] = ["user-a", "user-b"]
    assert await async_setup_component(hass, "lovelace", {})
    await setup_ledger(hass, fake_ledger)
    with patch("custom_components.tenant_metering.services.async_publish_dashboards") as publish:
        await hass.services.async_call(DOMAIN, "publish_dashboards", {}, blocking=True)
    (tenant,) = publish.call_args.args[1]
    assert tenant.user_id == "user-a"
    assert tenant.viewers == ["user-a", "user-b"]
    view = build_dashboard_config([tenant], ["admin"])["views"][1]
    # The landlord (an HA admin) keeps every tenant's view; the linked users see their own.
    assert view["visible"] == [{"user": "admin"}, {"user": "user-a"}, {"user": "user-b"}]
    assert "icon" not in view, "an icon would replace the tab's label (the tenant's name)"


async def test_publish_dashboards_needs_the_ledger(
    hass: HomeAssistant, mqtt_mock: MagicMock
) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(DOMAIN, "publish_dashboards", {}, blocking=True)
    assert raised.value.translation_key == "ledger_not_loaded"
