"""The tenant portal's own door in a real headless Chromium on a phone-sized screen.

The landlord makes the links in the console (through ingress headers, on a desktop); tenant A
then has nothing but the link and the PIN: no Home Assistant login, no headers. Both tenants
have a cold-water meter beside their electricity (``add_water``). Screenshots go to
``test-artifacts/web/``.
"""

from datetime import UTC, datetime

from playwright.async_api import Browser as Chromium, BrowserContext, Page, expect

from tenant_ledger.service import LedgerService
from tenant_ledger.web import PORTAL_ROUTES
from tenant_ledger.web.portal import ThrottlePolicy
from tests.ledger.conftest import Api, FakeClock, pdf_text

from .conftest import LANDLORD, PORTAL_URL, Browser, add_water, make_sign_in
from .test_browser import DESKTOP, PHONE, shot
from .test_portal import concrete, open_portal

HOUR = 3600
B_FIGURES = ("-6.80", "0.030 m³", "1.970 m³", "0.750 m³", "3.600 m³")
"""B's balance, water this period and left of it, water in the last 7 days and in November."""


async def phone(chromium: Chromium) -> tuple[BrowserContext, Page]:
    context = await chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(10_000)
    return context, page


async def test_tenant_a_with_only_the_link_and_pin_sees_their_account_and_nothing_of_b(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock, chromium: Chromium
) -> None:
    async with open_portal(site, ledger, clock) as portal:
        # November's statements are issued, so every page and download exists for both tenants.
        # Water to 1 December 06:00 Berlin, every 6 hours: November 720 h x 12 L = 8.640 m³ for
        # A (6.640 m³ beyond the 2 m³ at 2.00: 13.28), 720 h x 5 L = 3.600 m³ for B (3.20).
        clock.now_us = int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * 1_000_000
        await add_water(portal.api, clock)
        await portal.ledger.tick()

        landlord_context = await chromium.new_context(
            extra_http_headers=LANDLORD.headers(), viewport=DESKTOP
        )
        landlord = await landlord_context.new_page()
        console = str(portal.browser.client.make_url("")).rstrip("/")
        await landlord.goto(f"{console}/tenants/t1")
        await landlord.click("text=Portal sign-in link")
        await landlord.click("#create-link button[type=submit]")
        await expect(landlord.locator("#new-link img.qr")).to_be_visible()
        url = await landlord.get_by_test_id("sign-in-url").inner_text()
        pin = await landlord.get_by_test_id("pin").inner_text()
        await shot(landlord, "landlord-portal-link")
        assert url.startswith(f"{PORTAL_URL}/s/")
        link = portal.base + url.removeprefix(PORTAL_URL)
        await make_sign_in(portal.browser, "t2")  # B has a link too: a live account to hide

        context, alice = await phone(chromium)
        await alice.goto(link)
        await shot(alice, "portal-sign-in-phone")
        await alice.fill("input[name=pin]", pin)
        await alice.click("button[type=submit]")
        await expect(alice.locator("h1")).to_have_text("Room t1")
        # 48 kWh x 0.30 = 14.40 and 13.28 for water.
        await expect(alice.get_by_test_id("balance")).to_have_text("-27.68 EUR")
        await expect(alice.get_by_test_id("what-to-do")).to_contain_text("top up now")
        # December so far: 6 h x 12 L of water, within the period's 2 m³.
        await expect(alice.get_by_test_id("usage-water")).to_have_text("0.072 m³")
        await expect(alice.get_by_test_id("cost-water")).to_have_text("0.00 EUR")
        await expect(alice.get_by_test_id("left-water")).to_have_text("1.928 m³ of 2.000 m³ left")
        await expect(alice.get_by_test_id("usage-electricity")).to_have_text("0.000 kWh")
        water = alice.locator("[data-chart$='resource=water']")
        power = alice.locator("[data-chart$='resource=electricity']")
        # 25-30 November 24 h x 12 L each, 1 December 6 h: 1800 L.
        await expect(water.locator("svg")).to_have_attribute(
            "aria-label", "Water used, last 7 days: 1.800 m³"
        )
        await water.locator("a[data-span=day]").click()  # swaps this chart only, in place
        await expect(water.locator("svg")).to_have_attribute(
            "aria-label", "Water used, last 24 hours: 0.264 m³"
        )
        await expect(power.locator("svg")).to_have_attribute(
            "aria-label", "Electricity used, last 7 days: 0.000 kWh"
        )
        assert await alice.locator("text=Room t2").count() == 0
        page_text = await alice.locator("body").inner_text()
        for of_b in B_FIGURES:
            assert of_b not in page_text, of_b
        await shot(alice, "portal-account-phone")
        width = await alice.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], "the account page scrolls sideways on a phone"

        for _method, path, _access, _handler in PORTAL_ROUTES:
            for query in ("", "?resource=water", "?resource=water&span=month"):
                own = await context.request.get(portal.base + concrete(path, "t1") + query)
                assert own.status == 200, (path, query, own.status)
                mine = await own.body()
                assert b"Room t2" not in mine
                for of_b in B_FIGURES:
                    assert of_b.encode() not in mine, (path, query, of_b)
                if "{tenant_id}" not in path:
                    continue
                other = await context.request.get(portal.base + concrete(path, "t2") + query)
                body = await other.body()
                assert other.status == 404, (path, query, other.status)
                assert b"Room t2" not in body
                assert b"-6.80" not in body  # B's balance
                assert b"3.600" not in body  # B's November water
        answer = await alice.goto(f"{portal.base}/tenants/t2")
        assert answer is not None
        assert answer.status == 404
        # The statement list's November entry: the electricity and the water section.
        await alice.goto(f"{portal.base}/")
        november = alice.locator("li", has_text="issued:")
        await expect(november.locator("a", has_text="PDF")).to_have_attribute(
            "href", "/tenants/t1/statements/2026-11-01/issued.pdf"
        )
        await november.locator("a").first.click()
        await expect(alice.locator("h1")).to_contain_text("Statement")
        await expect(alice.locator("table.statement")).to_contain_text("14.40")
        await expect(alice.locator("table.statement")).to_contain_text("13.28")
        await expect(alice.locator("h2", has_text="Meters: Water")).to_be_visible()
        await shot(alice, "portal-statement-water-phone")
        statement = f"{portal.base}/tenants/t1/statements/2026-11-01"
        csv = await (await context.request.get(f"{statement}/issued.csv")).text()
        assert "subtotal,water,8.640,m³,,13.28" in csv
        pdf = await (await context.request.get(f"{statement}/issued.pdf")).body()
        assert "Meters: Water" in pdf_text(pdf)
        for download in ("issued.csv", "issued.pdf", ".csv"):
            address = f"{portal.base}/tenants/t2/statements/2026-11-01"
            address += download if download == ".csv" else f"/{download}"
            assert (await context.request.get(address)).status == 404, download

        # Thirteen hours later without use the session has ended.
        clock.advance(13 * HOUR)
        await alice.goto(f"{portal.base}/")
        await expect(alice.locator("h1")).to_have_text("You are not signed in")

        # Signed in again, then the landlord revokes the link: the session ends at once.
        await alice.goto(link)
        await alice.fill("input[name=pin]", pin)
        await alice.click("button[type=submit]")
        await expect(alice.locator("h1")).to_have_text("Room t1")
        await landlord.goto(f"{console}/tenants/t1/portal")
        await landlord.click("button:has-text('Revoke')")
        await expect(landlord.locator(".notice")).to_contain_text("revoked")
        await alice.reload()
        await expect(alice.locator("h1")).to_have_text("You are not signed in")
        await alice.goto(link)
        await expect(alice.locator("h1")).to_have_text("This link does not work")
        await context.close()
        await landlord_context.close()


async def test_wrong_pins_on_a_phone_lock_the_door_and_say_when_to_try_again(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock, chromium: Chromium
) -> None:
    async with open_portal(site, ledger, clock, throttle=ThrottlePolicy()) as portal:
        sign_in = await make_sign_in(portal.browser, "t1")
        context, page = await phone(chromium)
        wrong = "000000" if sign_in.pin != "000000" else "111111"
        await page.goto(portal.base + sign_in.path)
        for _ in range(4):
            await page.fill("input[name=pin]", wrong)
            await page.click("button[type=submit]")
            await expect(page.locator(".error")).to_have_text(
                "That PIN is not right. Check it and try again."
            )
        await page.fill("input[name=pin]", wrong)
        await page.click("button[type=submit]")
        await expect(page.locator(".error")).to_have_text(
            "Too many wrong PINs. Try again in 15 minutes."
        )
        await shot(page, "portal-locked-phone")
        await page.goto(portal.base + sign_in.path)  # even the right PIN waits
        await expect(page.locator("h1")).to_have_text("Too many tries")
        answer = await page.goto(f"{portal.base}/tenants/t1")
        assert answer is not None
        assert answer.status == 401
        clock.advance(15 * 60)
        await page.goto(portal.base + sign_in.path)
        await page.fill("input[name=pin]", sign_in.pin)
        await page.click("button[type=submit]")
        await expect(page.locator("h1")).to_have_text("Room t1")
        await context.close()
