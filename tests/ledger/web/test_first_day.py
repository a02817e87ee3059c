"""The landlord's first day in a real headless Chromium, through the console only.

The building's meters exist as the Home Assistant integration registers them; from there the
landlord creates a tariff, a plan, a room and a tenant, moves the tenant in, takes a payment
above the confirmation limit and reverses it, without one API call. The ledger's state is
then read back through the API to check what the clicks wrote.
"""

from collections.abc import AsyncIterator

from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser as Chromium, expect
import pytest

from tenant_ledger.service import LedgerService
from tests.ledger.conftest import Api

from .conftest import LANDLORD, LOCAL, build_app
from .test_browser import DESKTOP, open_as, shot


@pytest.fixture
async def empty_building(ledger: LedgerService, socket_enabled: None) -> AsyncIterator[Api]:
    """A new ledger whose only content is the meters the integration registered."""
    async with TestClient(TestServer(build_app(ledger, {LOCAL}))) as client:
        api = Api(client)
        for point_id, name, use in (
            ("mqtt:main:1", "Incomer", {"kind": "incomer"}),
            ("mqtt:r1:1", "Meter 1", {}),
            ("mqtt:r2:1", "Meter 2", {}),
        ):
            await api.call("POST", "/api/points", {"id": point_id, "name": name, **use}, expect=201)
        yield api


async def test_the_landlords_first_day_without_the_api(
    empty_building: Api, chromium: Chromium
) -> None:
    api = empty_building
    base = str(api.client.make_url("")).rstrip("/")
    page = await open_as(chromium, LANDLORD, DESKTOP)

    await page.goto(f"{base}/tariffs")
    await page.fill("input[name=tariff_id]", "standard")
    await page.fill("input[name=name]", "Standard")
    await page.fill("input[name=effective_from]", "2026-11-01T00:00")
    await page.select_option("select[name=energy]", "flat")
    await page.fill("input[name=flat_rate]", "0.30")
    await page.fill("input[name=standing_charge]", "0.20")
    await page.fill("input[name=vat_percent]", "19")
    await page.fill("#tariff-editor input[name=reason]", "first tariff")
    await page.click("button[value=save]")
    await expect(page.locator(".notice")).to_have_text("Tariff version saved.")

    await page.click("nav >> text=Set up")
    await page.fill("#new-plan input[name=name]", "Prepaid standard")
    await page.select_option("#new-plan select[name=kind]", "prepaid")
    await page.select_option("#new-plan select[name=tariff]", "standard")
    await page.click("#new-plan button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Plan created.")

    await page.fill("#new-room input[name=name]", "Room 1")
    await page.fill("#new-room input[name=area]", "14,5")
    await page.check("#new-room input[value='mqtt:r1:1']")
    await page.click("#new-room button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Room created.")

    await page.fill("#new-tenant input[name=name]", "Ana Silva")
    await page.select_option("#new-tenant select[name=plan]", label="Prepaid standard (prepaid)")
    await page.click("#new-tenant button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Tenant created.")

    await page.click("nav >> text=Tenants")
    await page.click("text=Ana Silva")
    await page.click("text=Move in / move out")
    offered = page.locator("#move-in input[name=points]")
    # The incomer is never offered; the free meters are, by room name.
    await expect(offered).to_have_count(2)
    await expect(page.locator("#move-in")).to_contain_text("Room 1 · Meter 1")
    await page.check("#move-in input[value='mqtt:r1:1']")
    await page.fill("#move-in input[name=at]", "2026-11-10T12:00")
    await page.fill("#move-in input[name=reason]", "new lease")
    await page.click("#move-in button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Move-in recorded.")
    await expect(page.locator(".links")).to_contain_text("Room 1 · Meter 1")

    await page.fill("#topup input[name=amount]", "600.00")
    await page.fill("#topup input[name=reason]", "deposit by bank transfer")
    await page.click("#topup button[type=submit]")
    await expect(page.locator("#confirm h1")).to_have_text("Confirm top-up of 600.00 EUR")
    assert (await api.call("GET", "/api/tenants/ana-silva"))["balance"] == "0.00"
    await shot(page, "first-day-confirm")
    await page.click("#confirm button[type=submit]")
    await expect(page.locator(".notice")).to_have_text("Top-up recorded.")
    await expect(page.get_by_test_id("balance")).to_have_text("600.00 EUR")

    row = page.locator("#entries tbody tr").first
    await row.locator("input[name=reason]").fill("meant for Room 2")
    await row.locator("button", has_text="Reverse").click()
    await expect(page.locator(".notice")).to_have_text("Entry reversed.")
    await expect(page.get_by_test_id("balance")).to_have_text("0.00 EUR")
    await expect(page.locator("#entries")).to_contain_text("reversed by #2")
    await shot(page, "first-day-reversed")

    tenant = await api.call("GET", "/api/tenants/ana-silva")
    assert (tenant["name"], tenant["plan"], tenant["points"]) == (
        "Ana Silva",
        "prepaid",
        ["mqtt:r1:1"],
    )
    plans = (await api.call("GET", "/api/plans"))["plans"]
    assert [(plan["id"], plan["tariff_id"]) for plan in plans] == [("prepaid-standard", "standard")]
    versions = (await api.call("GET", "/api/tariffs"))["versions"]
    assert [v["tariff"]["tax_rate"] for v in versions if v["tariff_id"] == "standard"] == ["0.19"]
    actions = [row["action"] for row in (await api.call("GET", "/api/audit"))["audit"]]
    assert actions[:3] == ["reversal", "top_up", "move_in"]
