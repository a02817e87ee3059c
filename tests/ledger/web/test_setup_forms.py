"""Tenants, rooms and plans created and edited with the console's forms (no API call)."""

import re

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from tenant_ledger.service import LedgerService
from tests.ledger.conftest import Api

from .conftest import LANDLORD, Browser

PLAN = {
    "name": "Prepaid standard",
    "kind": "prepaid",
    "tariff": "std",
    "low_balance": "5.00",
    "credit_limit": "10.00",
    "reconnect_minimum": "0.00",
    "billing_day": "1",
    "due_days": "14",
    "grace_days": "3",
    "quota_kwh": "",
    "overage_rate": "",
}


async def test_a_plan_a_room_and_a_tenant_from_the_forms(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    reply = await browser.post(LANDLORD, "/setup/plans", PLAN | {"quota_kwh": "150.5"})
    assert reply.status == 303, await reply.text()
    plans = {plan["id"]: plan for plan in (await api.call("GET", "/api/plans"))["plans"]}
    plan = plans["prepaid-standard"]
    assert plan["credit_limit_minor"] == 1000
    assert plan["quota_kwh"] == "150.5"
    assert plan["quota_overage_rate"] is None

    await api.call("POST", "/api/points", {"id": "mqtt:dev:9", "name": "Meter 9"}, expect=201)
    reply = await browser.post(
        LANDLORD, "/setup/rooms", {"name": "Room 9", "area": "14,5", "points": "mqtt:dev:9"}
    )
    assert reply.status == 303, await reply.text()
    spaces = {space["id"]: space for space in (await api.call("GET", "/api/spaces"))["spaces"]}
    assert spaces["room-9"]["area_m2"] == "14.5"
    assert ledger.catalog.point_records["mqtt:dev:9"].space_id == "room-9"

    reply = await browser.post(
        LANDLORD, "/setup/tenants", {"name": "Dmitri Ivanov", "plan": "prepaid-standard"}
    )
    assert reply.status == 303, await reply.text()
    assert ledger.catalog.tenants["dmitri-ivanov"].name == "Dmitri Ivanov"
    # The same name again gets its own id.
    await browser.post(
        LANDLORD, "/setup/tenants", {"name": "Dmitri Ivanov", "plan": "prepaid-standard"}
    )
    assert ledger.catalog.tenants["dmitri-ivanov-2"].plan_id == "prepaid-standard"

    reply = await browser.post(
        LANDLORD,
        "/setup/tenants/edit",
        {
            "tenant": "dmitri-ivanov-2",
            "name": "Dmitri I.",
            "plan": "prepaid-standard",
            "reason": "typo",
        },
    )
    assert reply.status == 303, await reply.text()
    assert ledger.catalog.tenants["dmitri-ivanov-2"].name == "Dmitri I."
    page = await (await browser.get(LANDLORD, "/setup")).text()
    assert "Prepaid standard" in page
    assert "Dmitri I." in page


@pytest.mark.parametrize(
    ("path", "data", "field", "message"),
    [
        ("/setup/plans", PLAN | {"billing_day": "29"}, "billing_day", "from 1 to 28"),
        ("/setup/plans", PLAN | {"credit_limit": "-1"}, "credit_limit", "Enter an amount"),
        ("/setup/plans", PLAN | {"tariff": "nope"}, "tariff", "Choose a tariff"),
        ("/setup/plans", PLAN | {"overage_rate": "0.3"}, "overage_rate", "needs the included"),
        ("/setup/plans", PLAN | {"name": ""}, "name", "Enter a name"),
        ("/setup/rooms", {"name": "R", "area": "-3"}, "area", "area in m²"),
        ("/setup/rooms", {"name": "R", "points": "mqtt:nope:1"}, "points", "in no room yet"),
        ("/setup/tenants", {"name": "A\nB", "plan": "main"}, "name", "one line"),
        ("/setup/tenants", {"name": "A", "plan": "gold"}, "plan", "Choose a plan"),
    ],
)
async def test_a_refused_form_names_the_field_and_writes_nothing(
    site: tuple[Api, Browser],
    ledger: LedgerService,
    path: str,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    api, browser = site
    before = await api.call("GET", "/api/audit")
    reply = await browser.post(LANDLORD, path, data)
    assert reply.status == 400
    text = await reply.text()
    assert message in text
    assert 'aria-invalid="true"' in text or field == "points"
    assert await api.call("GET", "/api/audit") == before


_TEXT = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", " ", "0", "-0", "1e9", "9" * 40, "NaN", "∞", "١٢", "\u202e", "x" * 5000]
)
_FIELDS = {
    "/setup/plans": list(PLAN),
    "/setup/rooms": ["name", "area", "points"],
    "/setup/tenants": ["name", "plan"],
    "/setup/tenants/edit": ["tenant", "name", "plan", "reason"],
    "/setup/rooms/edit": ["room", "name", "area", "reason"],
    "/setup/plans/edit": ["plan", "name", "low_balance", "credit_limit", "reason"],
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(sorted(_FIELDS)), data=st.data())
async def test_garbage_in_any_setup_field_is_refused_clearly_or_taken_whole(
    site: tuple[Api, Browser], ledger: LedgerService, path: str, data: st.DataObject
) -> None:
    api, browser = site
    form = {name: data.draw(_TEXT, label=name) for name in _FIELDS[path]}
    form = {name: value for name, value in form.items() if "\x00" not in value}
    before = (await api.call("GET", "/api/audit"))["audit"]
    reply = await browser.post(LANDLORD, path, form)
    after = (await api.call("GET", "/api/audit"))["audit"]
    if reply.status == 303:
        # Accepted: then every name was printable text the console shows as typed.
        assert len(after) > len(before)
        return
    assert reply.status == 400, await reply.text()
    assert re.search(r'class="error"', await reply.text())
    assert after == before


async def test_a_plan_and_a_room_are_edited_keeping_what_bills_a_running_period(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    edit = {
        "plan": "main",
        "name": "Main prepaid",
        "low_balance": "3.00",
        "credit_limit": "20.00",
        "reconnect_minimum": "1.00",
        "due_days": "10",
        "grace_days": "2",
        "reason": "new rules",
    }
    reply = await browser.post(LANDLORD, "/setup/plans/edit", edit)
    assert reply.status == 303, await reply.text()
    before = ledger.catalog.plans["main"]
    assert (before.name, before.credit_limit_minor, before.low_balance_minor) == (
        "Main prepaid",
        2000,
        300,
    )
    assert (before.kind, before.tariff_id, before.billing_day) == ("prepaid", "std", 1)
    refused = await browser.post(LANDLORD, "/setup/plans/edit", edit | {"credit_limit": "-5"})
    assert refused.status == 400
    assert ledger.catalog.plans["main"] == before

    await browser.post(LANDLORD, "/setup/rooms", {"name": "Room 9", "area": "10"})
    reply = await browser.post(
        LANDLORD,
        "/setup/rooms/edit",
        {"room": "room-9", "name": "Room 9 (garden)", "area": "12.25", "reason": "measured"},
    )
    assert reply.status == 303, await reply.text()
    spaces = {space["id"]: space for space in (await api.call("GET", "/api/spaces"))["spaces"]}
    assert (spaces["room-9"]["name"], spaces["room-9"]["area_m2"]) == ("Room 9 (garden)", "12.25")
    missing = await browser.post(
        LANDLORD, "/setup/rooms/edit", {"room": "nope", "name": "x", "reason": "r"}
    )
    assert missing.status == 400
    assert "Choose a room from the list." in await missing.text()
