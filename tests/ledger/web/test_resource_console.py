"""Water, gas and heat in the landlord's console: a tariff per resource, a plan's slots, new
meters with their resource (a water meter watched for leaks by default), and a tenant's period
per resource on the tenant page. Garbage in every new field: a clear message, nothing stored."""

from decimal import Decimal
import re
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from playwright.async_api import Browser as Chromium, expect

from tenant_ledger.i18n import Formats
from tenant_ledger.readings_in import MAX_POINT_ID
from tenant_ledger.service import LedgerService
from tenant_ledger.web import forms
from tenant_ledger.web.resource_usage import resource_usage
from tests.ledger.conftest import Api

from .conftest import LANDLORD, Browser
from .test_browser import DESKTOP, open_as, shot
from .test_form_fields import assert_field
from .test_setup_forms import PLAN

WATER_TARIFF = {
    "tariff_id": "water",
    "resource": "water",
    "name": "Cold water",
    "effective_from": "2026-01-01T00:00",
    "energy": "flat",
    "flat_rate": "2.50",
    "standing_charge": "0",
    "vat_percent": "7",
    "reason": "water from the city",
    "do": "save",
}
WATER_PLAN = PLAN | {"name": "Power and water", "tariff_water": "water", "quota_water": "1500"}
WATER_METER = {
    "id": "mqtt:w:1",
    "name": "Room 1 cold water",
    "resource": "water",
    "room": "",
    "watch": "on",
    "window_start": "23:00",
    "window_end": "05:00",
    "minimum_per_hour": "8",
    "reason": "",
}


async def _audit(api: Api) -> list[dict[str, Any]]:
    audit: list[dict[str, Any]] = (await api.call("GET", "/api/audit"))["audit"]
    return audit


async def _water_tariff(browser: Browser) -> None:
    reply = await browser.post(LANDLORD, "/tariffs", WATER_TARIFF)
    assert reply.status == 303, await reply.text()


async def test_a_water_tariff_and_a_plan_with_a_water_slot_from_the_forms(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    await _water_tariff(browser)
    assert ledger.catalog.tariff_resources["water"] == "water"
    page = await (await browser.get(LANDLORD, "/tariffs?edit=water")).text()
    # An existing tariff's resource is shown, not offered; its prices are per m³.
    assert "Prices water per m³ (fixed when the tariff was created)." in page
    assert "2.50 / m³" in page
    assert "every m³" in page

    reply = await browser.post(LANDLORD, "/setup/plans", WATER_PLAN | {"overage_rate_water": "3"})
    assert reply.status == 303, await reply.text()
    plan = ledger.catalog.plans["power-and-water"]
    assert plan.tariff_id == "std"
    water = plan.tariff_for(ledger.catalog.tariff_resources["water"])
    assert water is not None
    assert water.tariff_id == "water"
    assert water.quota is not None
    assert (water.quota.included_wh, str(water.quota.overage_rate)) == (1_500_000, "3")
    (listed,) = [
        p
        for p in (await api.call("GET", "/api/plans"))["plans"]
        if p["name"] == ("Power and water")
    ]
    assert listed["resources"]["water"]["tariff_id"] == "water"
    setup = await (await browser.get(LANDLORD, "/setup")).text()
    assert "std (electricity), water (water)" in setup
    assert "1500.000 m³ water" in setup


async def test_a_tariff_of_another_resource_in_a_slot_is_a_field_error_and_nothing_is_stored(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    await _water_tariff(browser)
    before = await _audit(api)
    for data, field, message in (
        (WATER_PLAN | {"tariff_water": "std"}, "tariff_water", "prices electricity, not water"),
        (WATER_PLAN | {"tariff": "water"}, "tariff", "prices water, not electricity"),
        (WATER_PLAN | {"tariff_gas": "nope"}, "tariff_gas", "Choose a tariff from the list."),
        (WATER_PLAN | {"tariff_water": "", "quota_water": "3"}, "quota_water", "needs a tariff"),
        (WATER_PLAN | {"quota_water": "1e3"}, "quota_water", "included usage in m³"),
        (WATER_PLAN | {"overage_rate_heat": "1"}, "overage_rate_heat", "needs the included kWh"),
    ):
        reply = await browser.post(LANDLORD, "/setup/plans", data)
        text = await reply.text()
        assert reply.status == 400, (field, text)
        assert message in text, (field, text)
        assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', text), field
    assert await _audit(api) == before
    assert "power-and-water" not in ledger.catalog.plans


async def test_a_tariffs_resource_is_chosen_once_and_fixed(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    await _water_tariff(browser)
    before = await _audit(api)
    for data, message in (
        (WATER_TARIFF | {"effective_from": "2026-12-01T00:00", "resource": "gas"}, "for good"),
        (WATER_TARIFF | {"tariff_id": "gas", "resource": "steam"}, "Choose a resource"),
    ):
        reply = await browser.post(LANDLORD, "/tariffs", data)
        assert reply.status == 400
        assert message in await reply.text()
    assert await _audit(api) == before
    # Preview: a new gas tariff's synthetic month is in m³.
    reply = await browser.post(
        LANDLORD, "/tariffs", WATER_TARIFF | {"tariff_id": "gas", "resource": "gas", "do": ""}
    )
    text = await reply.text()
    assert reply.status == 200, text
    assert "300.000 m³ spread evenly" in text
    assert "Price per <span data-unit>m³</span>" in text


async def test_a_water_meter_created_in_the_console_is_watched_for_leaks_by_default(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    page = await (await browser.get(LANDLORD, "/points")).text()
    # The new meter's form offers the leak watch pre-filled with the watch form's defaults.
    assert 'name="window_start" value="23:00"' in page
    assert 'name="minimum_per_hour" value="8"' in page
    reply = await browser.post(LANDLORD, "/points", WATER_METER)
    assert (reply.status, reply.headers["Location"]) == (303, "/points?done=point")
    assert ledger.catalog.resource_of("mqtt:w:1") == "water"
    watch = await api.call("GET", "/api/points/mqtt:w:1/leak-watch", expect=200)
    assert watch == {
        "point": "mqtt:w:1",
        "window_start": "23:00",
        "window_end": "05:00",
        "minimum_per_hour": 8,
        "enabled": True,
    }
    page = await (await browser.get(LANDLORD, "/points?done=point")).text()
    assert "Meter created." in page
    assert 'water <small class="muted">m³</small>' in page
    assert "23:00 to 05:00, at least 8 L per hour" in page

    unticked = WATER_METER | {"id": "mqtt:w:2", "watch": ""}
    assert (await browser.post(LANDLORD, "/points", unticked)).status == 303
    await api.call("GET", "/api/points/mqtt:w:2/leak-watch", expect=404)
    # Only a water meter is watched by default; a gas meter's box is ignored.
    gas = WATER_METER | {"id": "mqtt:g:1", "resource": "gas"}
    assert (await browser.post(LANDLORD, "/points", gas)).status == 303
    assert ledger.catalog.resource_of("mqtt:g:1") == "gas"
    await api.call("GET", "/api/points/mqtt:g:1/leak-watch", expect=404)


async def test_a_refused_new_meter_names_the_field_and_stores_nothing(
    site: tuple[Api, Browser], ledger: LedgerService
) -> None:
    api, browser = site
    before = await _audit(api)
    for data, message in (
        (WATER_METER | {"window_end": "23:00"}, "must end at another time"),
        (WATER_METER | {"minimum_per_hour": "0"}, "Enter a whole number from 1 to"),
        (WATER_METER | {"id": "mqtt:dev:1"}, "exists already"),
        (WATER_METER | {"id": "-x"}, "Enter the meter id"),
        (WATER_METER | {"resource": "steam"}, "Choose a resource"),
        (WATER_METER | {"room": "nowhere"}, "Choose a room"),
        (WATER_METER | {"name": ""}, "Enter a name"),
    ):
        reply = await browser.post(LANDLORD, "/points", data)
        text = await reply.text()
        assert reply.status == 400, text
        assert message in text
        assert 'aria-invalid="true"' in text
        # What was typed is shown again (the box stays as it was).
        assert 'name="watch" checked' in text
    assert await _audit(api) == before
    assert "mqtt:w:1" not in ledger.catalog.point_records


_TEXT = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["", " ", "0", "-0", "1e9", "9" * 40, "NaN", "∞", "١٢", "\u202e", "x" * 5000, "water"]
)
_NEW_FIELDS = {
    "/setup/plans": (
        PLAN | {"tariff_water": "water"},
        [f"{kind}_{r}" for kind in ("tariff", "quota", "overage_rate") for r in ("water", "gas")],
    ),
    "/tariffs": (WATER_TARIFF | {"tariff_id": "w2"}, ["resource", "flat_rate"]),
    "/points": (WATER_METER, list(WATER_METER)),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(sorted(_NEW_FIELDS)), data=st.data())
async def test_garbage_in_any_new_resource_field_is_refused_clearly_or_taken_whole(
    site: tuple[Api, Browser], ledger: LedgerService, path: str, data: st.DataObject
) -> None:
    api, browser = site
    if "water" not in ledger.catalog.schedules:
        await _water_tariff(browser)
    valid, fields = _NEW_FIELDS[path]
    garbage = {name: data.draw(_TEXT, label=name) for name in fields}
    form = valid | {name: value for name, value in garbage.items() if "\x00" not in value}
    before = await _audit(api)
    reply = await browser.post(LANDLORD, path, form)
    after = await _audit(api)
    if reply.status == 303:
        assert len(after) > len(before)
        return
    assert reply.status == 400, await reply.text()
    assert re.search(r'class="error"', await reply.text())
    assert after == before


async def test_the_tenant_page_shows_each_resources_usage_cost_and_quota_left_in_its_unit(
    site: tuple[Api, Browser], ledger: LedgerService, chromium: Chromium
) -> None:
    """In Chromium: a water tariff (labels follow the chosen resource), a plan with a water
    slot, a water meter watched for leaks, a tenant moved in; the tenant page shows water."""
    api, _browser = site
    base = str(api.client.make_url("")).rstrip("/")
    page = await open_as(chromium, LANDLORD, DESKTOP)

    await page.goto(f"{base}/tariffs")
    await page.fill("input[name=tariff_id]", "water")
    await page.select_option("select[name=resource]", "water")
    await expect(page.locator("fieldset[data-energy=flat]")).to_contain_text("Price per m³")
    await page.fill("input[name=effective_from]", "2026-01-01T00:00")
    await page.select_option("select[name=energy]", "flat")
    await page.fill("input[name=flat_rate]", "2.50")
    await page.fill("input[name=standing_charge]", "0")
    await page.fill("input[name=vat_percent]", "0")
    await page.fill("#tariff-editor input[name=reason]", "water from the city")
    await page.click("button[value=save]")
    await expect(page.locator(".notice")).to_have_text("Tariff version saved.")

    await page.goto(f"{base}/setup")
    await page.fill("#new-plan input[name=name]", "Power and water")
    await page.select_option("#new-plan select[name=tariff]", "std")
    await page.select_option("#new-plan select[name=tariff_water]", "water")
    await page.fill("#new-plan input[name=quota_water]", "1")
    await page.fill("#new-plan input[name=overage_rate_water]", "3")
    await page.click("#new-plan button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Plan created.")
    await page.fill("#new-tenant input[name=name]", "Wanda")
    await page.select_option("#new-tenant select[name=plan]", label="Power and water (prepaid)")
    await page.click("#new-tenant button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Tenant created.")

    await page.goto(f"{base}/points")
    await page.fill("#point input[name=id]", "mqtt:w:1")
    await page.fill("#point input[name=name]", "Wanda's cold water")
    # The leak watch is offered for a water meter only.
    await expect(page.locator("#new-point-watch")).to_be_hidden()
    await page.select_option("#point select[name=resource]", "water")
    await expect(page.locator("#new-point-watch")).to_be_visible()
    await expect(page.locator("#point input[name=watch]")).to_be_checked()
    await expect(page.locator("#point input[name=window_start]")).to_have_value("23:00")
    await expect(page.locator("#point input[name=minimum_per_hour]")).to_have_value("8")
    await page.click("#point button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Meter created.")
    await expect(page.locator("tr", has_text="Wanda's cold water")).to_contain_text(
        "at least 8 L per hour"
    )

    await page.goto(f"{base}/tenants/wanda/move")
    await page.check("#move-in input[value='mqtt:w:1']")
    await page.fill("#move-in input[name=at]", "2026-11-09T00:00")
    await page.fill("#move-in input[name=reason]", "new lease")
    await page.click("#move-in button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Move-in recorded.")

    start = ledger.clock.epoch - 36 * 3600  # type: ignore[attr-defined]
    readings = [
        {"point": "mqtt:w:1", "ts": start + hour * 3600, "volume_l": 1_000 + hour * 40}
        for hour in range(31)
    ]
    await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)
    state = await api.call("GET", "/api/tenants/wanda")
    water = state["resources"]["water"]
    assert (water["period_usage"], water["period_cost"]) == ("1.200", "0.60")

    await page.goto(f"{base}/tenants/wanda")
    row = page.locator("#resources tr[data-resource=water]")
    # 30 hours of 40 L: 1.200 m³, the first 1 m³ included, 0.2 m³ above it at 3.00 a m³.
    await expect(row).to_have_text(re.compile(r"Water\s*1\.200 m³\s*0\.60\s*1\.000 m³\s*0\.000 m³"))
    await expect(page.locator("#resources tr[data-resource=electricity]")).to_contain_text(
        "0.000 kWh"
    )
    await shot(page, "tenant-resources")


def test_the_resource_rows_are_exact_in_the_add_ons_locale() -> None:
    state = {
        "resources": {
            "electricity": {
                "unit": "kWh",
                "billed": True,
                "period_usage": "12.345",
                "period_cost": "-1234.56",
                "quota": None,
                "quota_remaining": None,
            },
            "water": {
                "unit": "m³",
                "billed": False,
                "period_usage": "1234567.891",
                "period_cost": "0.00",
                "quota": "1500",
                "quota_remaining": "0.001",
            },
            "steam": {"unit": "t"},
        }
    }
    rows = resource_usage(state, Formats("de", "EUR"))
    assert [(r.name, r.usage, r.cost, r.quota, r.quota_left, r.billed) for r in rows] == [
        ("Strom", "12,345", "-1.234,56", None, None, True),
        ("Wasser", "1.234.567,891", "0,00", "1.500,000", "0,001", False),
    ]


@settings(max_examples=300, deadline=None)
@given(typed=st.text(st.characters(codec=None), max_size=60) | st.text(max_size=400))
def test_a_meter_id_is_a_readings_contract_id_or_a_message(typed: str) -> None:
    try:
        point_id = forms.point_id("id", typed, {"mqtt:dev:1"})
    except forms.FormError as err:
        assert_field(err, "id")
        return
    assert point_id == typed
    assert point_id != "mqtt:dev:1"
    assert 0 < len(point_id) <= MAX_POINT_ID
    assert point_id.isascii()
    assert point_id.isprintable()


def _names_the_unit(err: forms.FormError, unit: str) -> None:
    assert unit in err.message, err


@settings(max_examples=300, deadline=None)
@given(
    amount=st.text(max_size=30) | st.from_regex(r"[0-9]{0,14}(\.[0-9]{0,5})?", fullmatch=True),
    unit=st.sampled_from(["kWh", "m³"]),
)
def test_a_quota_in_m3_is_exact_litres_or_a_message_in_m3(amount: str, unit: str) -> None:
    try:
        quota = forms.quota("quota_water", amount, "overage_rate_water", "", unit)
    except forms.FormError as err:
        assert_field(err, "quota_water")
        _names_the_unit(err, unit)
        return
    if quota is not None:
        assert Decimal(quota.included_wh) == Decimal(amount) * 1000
