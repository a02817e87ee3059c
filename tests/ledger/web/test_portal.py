"""The tenant portal's own door: a link and a PIN from the landlord, a session for one tenant.

The portal app is served as the ledger serves it on ``--portal-port``; the landlord makes the
links in the console (ingress headers), the tenants use only what the landlord handed them.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
import http.client
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
import sqlalchemy as sa

from tenant_ledger.db.schema import audit_log, portal_links, portal_sessions
from tenant_ledger.operations.portal import DEFAULT_SESSIONS, SessionPolicy
from tenant_ledger.service import LedgerService
from tenant_ledger.web import PORTAL_ROUTES, ROUTES, create_portal_app
from tenant_ledger.web.context import Access
from tenant_ledger.web.portal import SESSION_COOKIE, ThrottlePolicy
from tests.ledger.conftest import Api, FakeClock

from .conftest import LANDLORD, Browser, SignIn, make_sign_in

PERIOD = "2026-11-01"
HOUR = 3600
NAMES = {"t1": "Room t1", "t2": "Room t2"}
PORTAL_IDS = [f"{method} {path}" for method, path, _access, _handler in PORTAL_ROUTES]
LENIENT = ThrottlePolicy(per_link=10**6, per_address=10**6)


def concrete(path: str, tenant_id: str) -> str:
    return (
        path.replace("{tenant_id}", tenant_id)
        .replace(r"{period:\d{4}-\d{2}-\d{2}}", PERIOD)
        .replace("{format:pdf|csv}", "pdf")
        .replace(r"{quarantine_id:\d{1,9}}", "1")
    )


@dataclass
class Door:
    """One phone on the portal's port: its own cookie jar."""

    session: aiohttp.ClientSession
    base: str

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.session.get(self.base + path, allow_redirects=False)

    async def sign_in(self, sign_in: SignIn, pin: str | None = None) -> aiohttp.ClientResponse:
        return await self.session.post(
            self.base + sign_in.path,
            data={"pin": sign_in.pin if pin is None else pin},
            allow_redirects=False,
        )

    @property
    def cookie(self) -> str | None:
        for cookie in self.session.cookie_jar:
            if cookie.key == SESSION_COOKIE:
                return cookie.value
        return None


@dataclass
class Portal:
    server: TestServer
    ledger: LedgerService
    clock: FakeClock
    browser: Browser
    api: Api
    opened: list[Door] = field(default_factory=list)

    @property
    def base(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    def phone(self) -> Door:
        door = Door(aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)), self.base)
        self.opened.append(door)
        return door


@asynccontextmanager
async def open_portal(
    site: tuple[Api, Browser],
    ledger: LedgerService,
    clock: FakeClock,
    *,
    policy: SessionPolicy = DEFAULT_SESSIONS,
    throttle: ThrottlePolicy | None = None,
    portal_url: str = "",
) -> AsyncIterator[Portal]:
    api, browser = site
    app = create_portal_app(
        ledger,
        secret=b"p" * 32,
        policy=policy,
        throttle=throttle or LENIENT,
        portal_url=portal_url,
    )
    server = TestServer(app)
    await server.start_server()
    portal = Portal(server=server, ledger=ledger, clock=clock, browser=browser, api=api)
    try:
        yield portal
    finally:
        for door in portal.opened:
            await door.session.close()
        await server.close()


@pytest.fixture
async def portal(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> AsyncIterator[Portal]:
    async with open_portal(site, ledger, clock) as portal:
        yield portal


@pytest.fixture
async def phones(portal: Portal) -> tuple[Door, Door]:
    return portal.phone(), portal.phone()


async def signed_in(portal: Portal, door: Door, tenant_id: str) -> SignIn:
    sign_in = await make_sign_in(portal.browser, tenant_id)
    reply = await door.sign_in(sign_in)
    assert reply.status == 303, await reply.text()
    assert reply.headers["Location"] == "/"
    return sign_in


async def test_a_tenant_with_only_the_link_and_pin_sees_their_own_account(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, _bob = phones
    sign_in = await make_sign_in(portal.browser, "t1")
    before = await alice.get("/")
    assert before.status == 401
    assert "You are not signed in" in await before.text()
    form = await alice.get(sign_in.path)
    assert form.status == 200
    assert 'name="pin"' in await form.text()

    reply = await alice.sign_in(sign_in)
    assert reply.status == 303
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure

    home = await alice.get("/")
    html = await home.text()
    assert home.status == 200, html
    assert "<h1>Room t1</h1>" in html
    assert 'data-testid="balance"' in html
    assert "Room t2" not in html
    assert "Sign out" in html


@pytest.mark.parametrize(("method", "path", "access", "handler"), PORTAL_ROUTES, ids=PORTAL_IDS)
async def test_tenant_a_gets_nothing_of_tenant_b_on_any_portal_page(
    portal: Portal, phones: tuple[Door, Door], method: str, path: str, access: Any, handler: Any
) -> None:
    # November's statements are issued, so every download exists for both tenants.
    portal.clock.now_us = int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * 1_000_000
    await portal.ledger.tick()
    alice, _bob = phones
    await signed_in(portal, alice, "t1")

    own = await alice.get(concrete(path, "t1"))
    assert own.status == 200, await own.read()
    assert b"Room t2" not in await own.read()
    if "{tenant_id}" not in path:
        return  # the start page is the session's own tenant's account
    other = await alice.get(concrete(path, "t2"))
    body = await other.read()
    assert other.status == 404, body
    assert b"Room t2" not in body
    assert b"t2" not in body.replace(b"/tenants/t2", b"")


async def test_a_sign_in_posted_from_another_site_is_refused(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, _bob = phones
    sign_in = await make_sign_in(portal.browser, "t1")
    reply = await alice.session.post(
        alice.base + sign_in.path,
        data={"pin": sign_in.pin},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )
    assert reply.status == 403
    assert alice.cookie is None


async def test_behind_an_https_proxy_the_cookie_is_secure_and_its_origin_accepted(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    proxied = "https://portal.example.org"
    async with open_portal(site, ledger, clock, portal_url=proxied) as portal:
        door = portal.phone()
        sign_in = await make_sign_in(portal.browser, "t1")
        reply = await door.session.post(
            door.base + sign_in.path,
            data={"pin": sign_in.pin},
            headers={"Origin": proxied},
            allow_redirects=False,
        )
        assert reply.status == 303
        assert "Secure" in reply.headers["Set-Cookie"]


async def test_the_portal_port_has_no_console_and_no_api(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, _bob = phones
    await signed_in(portal, alice, "t1")
    console = [(m, concrete(p, "t1")) for m, p, access, _h in ROUTES if access is Access.LANDLORD]
    api = [("GET", "/api/tenants"), ("GET", "/api/openapi.json"), ("GET", "/api/health")]
    for method, path in [*console, *api]:
        reply = await alice.session.request(method, alice.base + path, allow_redirects=False)
        assert reply.status in (404, 405), (method, path, reply.status)


async def test_wrong_pins_lock_the_link_and_say_when_to_try_again(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    async with open_portal(site, ledger, clock, throttle=ThrottlePolicy()) as portal:
        door = portal.phone()
        sign_in = await make_sign_in(portal.browser, "t1")
        wrong = "000000" if sign_in.pin != "000000" else "111111"
        for _ in range(4):
            reply = await door.sign_in(sign_in, wrong)
            assert reply.status == 401
            assert "That PIN is not right" in await reply.text()
        locked = await door.sign_in(sign_in, wrong)
        assert locked.status == 429
        assert "Try again in 15 minutes" in await locked.text()
        assert locked.headers["Retry-After"] == str(15 * 60)
        right_but_locked = await door.sign_in(sign_in)
        assert right_but_locked.status == 429
        assert door.cookie is None

        clock.advance(10 * 60)
        later = await door.get(sign_in.path)
        assert "Try again in 5 minutes" in await later.text()
        clock.advance(5 * 60)
        reply = await door.sign_in(sign_in)
        assert reply.status == 303


async def test_failures_from_one_address_lock_every_link(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    async with open_portal(site, ledger, clock, throttle=ThrottlePolicy(per_address=3)) as portal:
        door = portal.phone()
        sign_in = await make_sign_in(portal.browser, "t1")
        for _ in range(3):
            guess = await door.get("/s/" + "A" * 43)
            assert guess.status == 404
            assert "This link does not work" in await guess.text()
        locked = await door.sign_in(sign_in)
        assert locked.status == 429
        assert door.cookie is None


async def test_a_session_ends_when_idle_and_when_it_is_too_old(
    site: tuple[Api, Browser], ledger: LedgerService, clock: FakeClock
) -> None:
    policy = SessionPolicy(idle_us=30 * 60 * 1_000_000, absolute_us=2 * HOUR * 1_000_000)
    async with open_portal(site, ledger, clock, policy=policy) as portal:
        door = portal.phone()
        sign_in = await signed_in(portal, door, "t1")
        clock.advance(29 * 60)
        assert (await door.get("/")).status == 200
        clock.advance(29 * 60)  # used 29 minutes ago: still open
        assert (await door.get("/")).status == 200
        clock.advance(31 * 60)
        assert (await door.get("/")).status == 401

        await door.sign_in(sign_in)
        for _ in range(5):  # busy every 20 minutes, but no session outlives two hours
            clock.advance(20 * 60)
            assert (await door.get("/")).status == 200
        clock.advance(21 * 60)
        assert (await door.get("/")).status == 401


async def test_revoking_the_link_ends_its_sessions_at_once(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, bob = phones
    sign_in = await signed_in(portal, alice, "t1")
    await signed_in(portal, bob, "t2")
    page = await portal.browser.get(LANDLORD, "/tenants/t1/portal")
    html = await page.text()
    assert "active" in html
    link_id = html.split('name="link_id" value="')[1].split('"')[0]
    reply = await portal.browser.post(LANDLORD, "/tenants/t1/portal/revoke", {"link_id": link_id})
    assert reply.status == 303, await reply.text()

    assert (await alice.get("/")).status == 401
    again = await alice.get(sign_in.path)
    assert again.status == 404
    assert (await alice.sign_in(sign_in)).status == 404
    assert (await bob.get("/")).status == 200  # another tenant's link is untouched
    twice = await portal.browser.post(LANDLORD, "/tenants/t1/portal/revoke", {"link_id": link_id})
    assert twice.status == 404
    with portal.ledger.engine.connect() as connection:
        actions = connection.execute(
            sa.select(audit_log.c.action).where(audit_log.c.target == "t1")
        ).scalars()
        assert {"create_portal_link", "portal_sign_in", "revoke_portal_link"} <= set(actions)


async def test_a_link_of_tenant_b_cannot_be_revoked_from_tenant_a(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    _alice, bob = phones
    await signed_in(portal, bob, "t2")
    page = await (await portal.browser.get(LANDLORD, "/tenants/t2/portal")).text()
    link_id = page.split('name="link_id" value="')[1].split('"')[0]
    reply = await portal.browser.post(LANDLORD, "/tenants/t1/portal/revoke", {"link_id": link_id})
    assert reply.status == 404
    assert (await bob.get("/")).status == 200


async def test_sign_out_ends_the_session_even_for_a_copied_cookie(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, _bob = phones
    await signed_in(portal, alice, "t1")
    cookie = alice.cookie
    assert cookie is not None
    html = await (await alice.get("/")).text()
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    reply = await alice.session.post(
        alice.base + "/sign-out", data={"csrf_token": token}, allow_redirects=False
    )
    assert reply.status == 303
    assert alice.cookie in (None, "")
    assert (await alice.get("/")).status == 401
    copied = await alice.session.get(
        alice.base + "/", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, allow_redirects=False
    )
    assert copied.status == 401


async def test_an_archived_tenants_sessions_end(portal: Portal, phones: tuple[Door, Door]) -> None:
    alice, _bob = phones
    await signed_in(portal, alice, "t1")
    now = datetime.fromtimestamp(portal.clock.epoch, UTC).isoformat()
    move_out = {"at": now, "reason": "lease ended"}
    await portal.api.call("POST", "/api/tenants/t1/move-out", move_out, expect=200)
    archive = {"reason": "left the building", "actor": "ana"}
    await portal.api.call("POST", "/api/tenants/t1/archive", archive, expect=200)
    assert (await alice.get("/")).status == 401
    with portal.ledger.engine.connect() as connection:
        revoked = connection.execute(
            sa.select(portal_links.c.revoked_at_us).where(portal_links.c.tenant_id == "t1")
        ).scalars()
        assert all(at is not None for at in revoked)


async def test_the_database_keeps_only_hashes_and_refuses_impossible_rows(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, _bob = phones
    sign_in = await signed_in(portal, alice, "t1")
    cookie = alice.cookie
    assert cookie is not None
    with portal.ledger.engine.connect() as connection:
        stored = " ".join(
            str(value)
            for table in (portal_links, portal_sessions)
            for row in connection.execute(sa.select(table))
            for value in row
        )
    assert sign_in.token not in stored
    assert sign_in.pin not in stored.split()
    assert cookie not in stored

    impossible: list[tuple[sa.Table, dict[str, Any]]] = [
        (
            portal_links,
            {
                "tenant_id": "t1",
                "token_hash": "short",
                "pin_salt": "0" * 32,
                "pin_hash": "0" * 64,
                "created_at_us": 1,
            },
        ),
        (
            portal_links,
            {
                "tenant_id": "t1",
                "token_hash": "1" * 64,
                "pin_salt": "0" * 32,
                "pin_hash": "0" * 64,
                "created_at_us": 10,
                "revoked_at_us": 5,
            },
        ),
        (
            portal_sessions,
            {
                "session_hash": "2" * 64,
                "link_id": 1,
                "created_at_us": 10,
                "last_seen_us": 20,
                "expires_at_us": 15,
            },
        ),
    ]
    for table, values in impossible:
        with pytest.raises(sa.exc.IntegrityError), portal.ledger.engine.begin() as connection:
            connection.execute(table.insert().values(**values))


def _post_raw(base: str, path: str, body: bytes, content_type: str) -> int:
    host = base.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        answer = connection.getresponse()
        assert answer.getheader("Set-Cookie") is None or SESSION_COOKIE not in str(
            answer.getheader("Set-Cookie")
        )
        answer.read()
        return answer.status
    finally:
        connection.close()


_ANY_TEXT = st.text(max_size=200) | st.text(max_size=5000)
_ANY_BYTES = st.binary(max_size=2000)


def _garbage_attempts(base: str, sign_in: SignIn) -> None:
    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(
        token=_ANY_TEXT | _ANY_BYTES.map(lambda raw: raw.decode("latin-1")) | st.just(None),
        pin=_ANY_TEXT.filter(lambda pin: pin.strip() != sign_in.pin) | _ANY_BYTES,
        content_type=st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=latin-1",
                "multipart/form-data; boundary=x",
                "text/plain",
            ]
        ),
    )
    def attempt(token: str | None, pin: str | bytes, content_type: str) -> None:
        path = sign_in.path if token is None else "/s/" + quote(token, safe="")
        if isinstance(pin, bytes):
            body = b"pin=" + pin
        else:
            body = urlencode({"pin": pin}, encoding="utf-8", errors="surrogatepass").encode()
        status = _post_raw(base, path, body, content_type)
        assert status in (400, 401, 403, 404, 405, 413, 429), (path[:80], pin, status)

    attempt()


async def test_garbage_links_and_pins_never_sign_in_and_never_fail(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    """Any size, any encoding, in the link, the PIN and the form: no session, no 5xx."""
    sign_in = await make_sign_in(portal.browser, "t1")
    await asyncio.to_thread(_garbage_attempts, portal.base, sign_in)
    alice, _bob = phones
    assert (await alice.sign_in(sign_in)).status == 303  # the garbage locked nothing real
    with portal.ledger.engine.connect() as connection:
        sessions = connection.execute(sa.select(sa.func.count()).select_from(portal_sessions))
        assert sessions.scalar() == 1


async def test_a_used_up_water_allowance_is_said_on_the_account_page_and_the_power_stays_on(
    portal: Portal, phones: tuple[Door, Door]
) -> None:
    alice, bob = phones
    api = portal.api
    water_tariff = {
        "tariff": {"currency": "EUR", "timezone": "Europe/Berlin",
                   "energy": {"type": "flat", "rate": "2.50"}},
        "resource": "water", "effective_from": "2026-01-01T00:00:00+01:00", "reason": "setup",
    }  # fmt: skip
    await api.call("POST", "/api/tariffs/cold/versions", water_tariff, expect=201)
    # No water included at all, hard-capped: used up from the first litre.
    plan = {
        "id": "capped", "name": "Capped", "kind": "prepaid", "tariff": "std",
        "resources": {"water": {"tariff": "cold", "quota": "0"}},
    }  # fmt: skip
    await api.call("POST", "/api/plans", plan, expect=201)
    state = await api.call("PUT", "/api/tenants/t1/plan", {"plan": "capped", "reason": "test"})
    assert state["status_reason"].endswith("; water allowance of 0.000 m³ used up")
    assert state["status"] != "quota_exhausted"
    assert state["resources"]["water"]["quota_exhausted"] is True

    await signed_in(portal, alice, "t1")
    html = await (await alice.get("/")).text()
    assert "water allowance of 0.000 m³ used up" in html  # the status reason
    advice = (
        "Your water allowance for this period is used up: what you use from now on is charged. "
        "Your power is not cut off for it."
    )
    assert advice in html
    assert "Your electricity allowance" not in html
    await signed_in(portal, bob, "t2")
    assert "allowance" not in await (await bob.get("/")).text()
