"""Web UI fixtures: the ledger app with the UI mounted, HA users as ingress headers."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
import re
import secrets
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser as Chromium, async_playwright
import pytest

from tenant_ledger.app import create_app
from tenant_ledger.service import LedgerService
from tenant_ledger.web import setup_web
from tenant_ledger.web.csrf import COOKIE
from tests.ledger.conftest import FLAT_TARIFF, Api, FakeClock

LOCAL = "127.0.0.1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_TOKEN = re.compile(r'<meta name="csrf-token" content="([0-9a-f]+)">')


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    display_name: str

    def headers(self, prefix: str | None = None) -> dict[str, str]:
        headers = {
            "X-Remote-User-Id": self.user_id,
            "X-Remote-User-Name": self.name,
            "X-Remote-User-Display-Name": self.display_name,
        }
        if prefix is not None:
            headers["X-Ingress-Path"] = prefix
        return headers


MONEY_FORMS = ("/topup", "/adjustment")
LANDLORD = User("u-ana", "ana", "Ana Landlord")
ALICE = User("u-alice", "alice", "Alice (t1)")
BOB = User("u-bob", "bob", "Bob (t2)")
CAROL = User("u-carol", "carol", "Carol Unlinked")


PORTAL_URL = "http://portal.test"
"""Where the console's sign-in links point in these tests (the portal runs on its own port)."""
_SIGN_IN_URL = re.compile(r'data-testid="sign-in-url" href="[^"]*(/s/[A-Za-z0-9_-]+)"')
_PIN = re.compile(r'data-testid="pin">(\d+)<')


def build_app(ledger: LedgerService, trusted: set[str]) -> web.Application:
    app = create_app(ledger, check_answers=True)
    setup_web(
        app,
        ledger,
        landlords={LANDLORD.name},
        trusted_proxies=trusted,
        secret=b"s" * 32,
        portal_url=PORTAL_URL,
    )
    return app


@dataclass(frozen=True)
class SignIn:
    """What the landlord hands a tenant: the sign-in link's path (on the portal) and its PIN."""

    path: str
    pin: str

    @property
    def token(self) -> str:
        return self.path.removeprefix("/s/")


async def make_sign_in(browser: "Browser", tenant_id: str) -> SignIn:
    """The landlord makes a link in the console; its page shows the link and the PIN once."""
    reply = await browser.post(LANDLORD, f"/tenants/{tenant_id}/portal", {})
    html = await reply.text()
    assert reply.status == 200, html
    link, pin = _SIGN_IN_URL.search(html), _PIN.search(html)
    assert link is not None, html
    assert pin is not None, html
    return SignIn(path=link[1], pin=pin[1])


@dataclass
class Browser:
    """The test client as one HA user at a time, with the CSRF dance done for forms."""

    client: TestClient[Any, Any]

    async def get(self, user: User | None, path: str, **kwargs: Any) -> Any:
        headers = {} if user is None else user.headers()
        return await self.client.get(path, headers=headers, allow_redirects=False, **kwargs)

    async def token(self, user: User, path: str = "/") -> str:
        reply = await self.get(user, path)
        match = _TOKEN.search(await reply.text())
        assert match is not None, await reply.text()
        return match[1]

    async def post(
        self,
        user: User | None,
        path: str,
        data: dict[str, str],
        *,
        token: str | None = None,
        token_from: User | None = None,
    ) -> Any:
        """POST ``data``; with the user's own CSRF token unless ``token`` is given."""
        if token is None and (token_from or user) is not None:
            token = await self.token(token_from or user)  # type: ignore[arg-type]
        form = dict(data) if token is None else {"csrf_token": token, **data}
        if path.endswith(MONEY_FORMS):
            # As the tenant page's hidden field does: a fresh one-time key per form shown.
            form.setdefault("form_key", secrets.token_urlsafe(16))
        headers = {} if user is None else user.headers()
        # Encoded here, not by aiohttp's client (which refuses them): a lone surrogate goes out
        # as the invalid UTF-8 bytes a hostile client can send.
        body = urlencode(form, encoding="utf-8", errors="surrogatepass").encode("ascii")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return await self.client.post(path, data=body, headers=headers, allow_redirects=False)

    def forget_session(self) -> None:
        self.client.session.cookie_jar.clear(lambda cookie: cookie.key == COOKIE)


@pytest.fixture
async def site(ledger: LedgerService, socket_enabled: None) -> AsyncIterator[tuple[Api, Browser]]:
    """Two tenants t1 (Alice) and t2 (Bob) with readings; the landlord Ana; Carol unlinked."""
    async with TestClient(TestServer(build_app(ledger, {LOCAL}))) as client:
        api, browser = Api(client), Browser(client)
        await api.building(tenants={"t1": "mqtt:dev:1", "t2": "mqtt:dev:2"})
        await post_readings(api, ledger.clock)  # type: ignore[arg-type]
        for user, tenant_id in ((ALICE, "t1"), (BOB, "t2")):
            reply = await browser.post(
                LANDLORD, f"/tenants/{tenant_id}/users", {"user_id": user.user_id}
            )
            assert reply.status == 303, await reply.text()
        yield api, browser


async def post_readings(api: Api, clock: FakeClock) -> None:
    """Hourly registers for both points over the two days before the clock: t1 uses 1 kWh/h."""
    start = clock.epoch - 48 * 3600
    readings = [
        {"point": point, "ts": start + hour * 3600, "energy_wh": 10_000 + hour * per_hour}
        for point, per_hour in (("mqtt:dev:1", 1000), ("mqtt:dev:2", 250))
        for hour in range(49)
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)


NOV_1 = 1_793_487_600
"""2026-11-01 00:00 Europe/Berlin: the tenants' move-in."""
WATER_PER_HOUR = {"t1": 12, "t2": 5}
"""Litres an hour through each tenant's cold-water meter ``cold:<tenant>``."""


async def add_water(api: Api, clock: FakeClock) -> None:
    """Water beside electricity for t1 and t2: 2.00 EUR/m³ beyond 2 m³ a period (plan
    ``mainw``, electricity unchanged), a cold-water meter each from 1 November, and contract v2
    registers every 6 hours from then up to the clock."""
    water_tariff = {**FLAT_TARIFF, "energy": {"type": "flat", "rate": "2.00"}}
    await api.call(
        "POST",
        "/api/tariffs/w/versions",
        {
            "tariff": water_tariff,
            "resource": "water",
            "effective_from": "2026-01-01T00:00:00+01:00",
            "reason": "setup",
        },
        expect=201,
    )
    await api.call(
        "POST",
        "/api/plans",
        {
            "id": "mainw",
            "name": "Main with water",
            "kind": "prepaid",
            "tariff": "std",
            "resources": {"water": {"tariff": "w", "quota": "2"}},
        },
        expect=201,
    )
    readings = []
    for tenant_id, per_hour in WATER_PER_HOUR.items():
        point = f"cold:{tenant_id}"
        await api.call(
            "PUT",
            f"/api/tenants/{tenant_id}/plan",
            {"plan": "mainw", "reason": "water"},
            expect=200,
        )
        await api.call(
            "POST", "/api/points", {"id": point, "name": point, "resource": "water"}, expect=201
        )
        await api.call(
            "POST",
            f"/api/tenants/{tenant_id}/move-in",
            {"points": [point], "at": "2026-11-01T00:00:00+01:00"},
            expect=201,
        )
        readings += [
            {"point": point, "ts": ts, "volume_l": (ts - NOV_1) // 3600 * per_hour}
            for ts in range(NOV_1, clock.epoch + 1, 6 * 3600)
        ]
    await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)


@pytest.fixture
async def chromium() -> AsyncIterator[Chromium]:
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()
