"""The UI in a real headless Chromium: a landlord and two tenants, each through ingress headers.

Debian's chromium is driven by Playwright (``executable_path``; no browser download). The
server is the ledger app on 127.0.0.1 with 127.0.0.1 as the trusted proxy, so each browser
context's ``extra_http_headers`` play the Supervisor's part. Screenshots go to
``test-artifacts/web/`` for a person to look at.
"""

from pathlib import Path

from playwright.async_api import (
    Browser as Chromium,
    Page,
    Route,
    ViewportSize,
    expect,
)

from tests.conftest import REPO_ROOT
from tests.ledger.conftest import Api

from .conftest import ALICE, BOB, LANDLORD, Browser, User

ARTIFACTS = REPO_ROOT / "test-artifacts" / "web"
PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)


async def open_as(chromium: Chromium, user: User, viewport: ViewportSize) -> Page:
    context = await chromium.new_context(
        extra_http_headers=user.headers(), viewport=viewport, java_script_enabled=True
    )
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return page


async def shot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def test_landlord_tops_up_and_each_tenant_sees_only_their_own_account(
    site: tuple[Api, Browser], chromium: Chromium
) -> None:
    _api, client = site
    base = str(client.client.make_url("")).rstrip("/")

    landlord = await open_as(chromium, LANDLORD, DESKTOP)
    await landlord.goto(f"{base}/")
    await expect(landlord.locator("table.tenants tbody tr")).to_have_count(2)
    await shot(landlord, "landlord-overview")
    await landlord.click("text=Room t1")
    await expect(landlord.get_by_test_id("balance")).to_have_text("-14.40 EUR")
    await landlord.fill("#topup input[name=amount]", "25.00")
    await landlord.fill("#topup input[name=reason]", "cash at desk")
    await landlord.click("#topup button[type=submit]")
    await expect(landlord.locator(".notice")).to_have_text("Top-up recorded.")
    await expect(landlord.get_by_test_id("balance")).to_have_text("10.60 EUR")
    await shot(landlord, "landlord-tenant-page")
    await landlord.fill("#topup input[name=amount]", "1.234")
    await landlord.fill("#topup input[name=reason]", "typo")
    await landlord.click("#topup button[type=submit]")
    await expect(landlord.locator("#topup .error")).to_contain_text("more decimals than EUR")
    await expect(landlord.get_by_test_id("balance")).to_have_text("10.60 EUR")

    alice = await open_as(chromium, ALICE, PHONE)
    await alice.goto(f"{base}/")
    await expect(alice.get_by_test_id("balance")).to_have_text("10.60 EUR")
    await expect(alice.locator("h1")).to_have_text("Room t1")
    assert await alice.locator("text=Room t2").count() == 0
    assert await alice.locator("#topup").count() == 0
    await alice.click("a[data-span=day]")  # the script swaps the chart in place
    await expect(alice.locator(".chart-box svg")).to_have_attribute(
        "aria-label", "Electricity used, last 24 hours: 23.000 kWh"
    )
    await shot(alice, "tenant-portal-phone")
    answer = await alice.goto(f"{base}/tenants/t2")
    assert answer is not None
    assert answer.status == 404
    await expect(alice.locator("h1")).to_have_text("Not found")
    await alice.goto(f"{base}/tenants/t1/statements/2026-11-01")
    await expect(alice.locator("table.statement")).to_contain_text("14.40")
    await shot(alice, "tenant-statement-phone")

    bob = await open_as(chromium, BOB, DESKTOP)
    await bob.goto(f"{base}/")
    await expect(bob.locator("h1")).to_have_text("Room t2")
    await expect(bob.get_by_test_id("balance")).to_have_text("-3.60 EUR")
    assert await bob.locator("text=Room t1").count() == 0
    answer = await bob.goto(f"{base}/tenants/t1/chart.svg")
    assert answer is not None
    assert answer.status == 404
    await shot(bob, "tenant-b-portal")


async def test_a_money_form_sent_twice_or_resent_after_a_lost_answer_posts_once(
    site: tuple[Api, Browser], chromium: Chromium
) -> None:
    api, client = site
    base = str(client.client.make_url("")).rstrip("/")
    landlord = await open_as(chromium, LANDLORD, DESKTOP)
    await landlord.goto(f"{base}/tenants/t1")
    await expect(landlord.get_by_test_id("balance")).to_have_text("-14.40 EUR")

    # A double submit: the browser sends the same form twice before the first answer.
    await landlord.fill("#topup input[name=amount]", "20,00")  # the decimal comma is fine
    await landlord.fill("#topup input[name=reason]", "cash at desk")
    async with landlord.expect_navigation():
        await landlord.eval_on_selector(
            "#topup", "form => { form.requestSubmit(); form.requestSubmit(); }"
        )
    await expect(landlord.get_by_test_id("balance")).to_have_text("5.60 EUR")

    # The answer is lost on the way back (a proxy times out) after the ledger posted; the
    # landlord reloads the error page, which sends the same form again.
    async def lose_the_answer(route: Route) -> None:
        await route.fetch(max_redirects=0)  # the ledger gets the form and posts
        await route.fulfill(status=504, body="Gateway Timeout")

    await landlord.route("**/tenants/t1/topup", lose_the_answer, times=1)
    await landlord.fill("#topup input[name=amount]", "3.00")
    await landlord.fill("#topup input[name=reason]", "transfer")
    await landlord.click("#topup button[type=submit]")
    await expect(landlord.locator("body")).to_contain_text("Gateway Timeout")
    await landlord.reload()
    await expect(landlord.locator(".notice")).to_have_text("Top-up recorded.")
    await expect(landlord.get_by_test_id("balance")).to_have_text("8.60 EUR")
    journal = (await api.call("GET", "/api/tenants/t1/journal"))["entries"]
    assert sorted(e["amount"] for e in journal if e["kind"] == "top_up") == ["20.00", "3.00"]
