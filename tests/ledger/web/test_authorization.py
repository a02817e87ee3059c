"""Every route against every kind of caller: nobody reads or changes what is not theirs."""

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest

from tenant_ledger.service import LedgerService
from tenant_ledger.web import ROUTES
from tenant_ledger.web.context import Access
from tests.ledger.conftest import Api, FakeClock

from .conftest import ALICE, BOB, CAROL, LANDLORD, LOCAL, Browser, build_app

PERIOD = "2026-11-01"
ROUTE_IDS = [f"{method} {path}" for method, path, _access, _handler in ROUTES]


def concrete(path: str, tenant_id: str) -> str:
    return (
        path.replace("{tenant_id}", tenant_id)
        .replace(r"{period:\d{4}-\d{2}-\d{2}}", PERIOD)
        .replace("{format:pdf|csv}", "pdf")
        .replace(r"{quarantine_id:\d{1,9}}", "1")
        .replace(r"{alarm_id:\d{1,9}}", "1")
        .replace(r"{entry_id:\d{1,9}}", "1")
    )


async def issue_statements_for(path: str, ledger: LedgerService, clock: FakeClock) -> None:
    """Pages of issued statements exist once the billing day has issued November's."""
    if "issued" in path:
        clock.now_us = int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * 1_000_000
        await ledger.tick()


async def call(browser: Browser, user: Any, method: str, path: str) -> Any:
    if method == "GET":
        return await browser.get(user, path)
    return await browser.post(user, path, {"amount": "1.00", "reason": "probe"})


@pytest.mark.parametrize(("method", "path", "access", "handler"), ROUTES, ids=ROUTE_IDS)
async def test_anonymous_and_unlinked_users_get_the_ask_your_landlord_page(
    site: tuple[Api, Browser], method: str, path: str, access: Access, handler: Any
) -> None:
    _api, browser = site
    for user in (None, CAROL):
        reply = await browser.client.request(
            method,
            concrete(path, "t1"),
            headers={} if user is None else user.headers(),
            data={"amount": "1.00"} if method == "POST" else None,
            allow_redirects=False,
        )
        assert reply.status == 403, (user, await reply.text())
        assert "ask your landlord" in (await reply.text()).lower()


@pytest.mark.parametrize(("method", "path", "access", "handler"), ROUTES, ids=ROUTE_IDS)
async def test_tenant_a_never_reaches_tenant_b_and_only_reads_its_own(
    site: tuple[Api, Browser],
    ledger: LedgerService,
    clock: FakeClock,
    method: str,
    path: str,
    access: Access,
    handler: Any,
) -> None:
    api, browser = site
    await issue_statements_for(path, ledger, clock)
    before = (await api.call("GET", "/api/tenants/t2"))["balance"]
    if "{tenant_id}" in path:
        other = await call(browser, ALICE, method, concrete(path, "t2"))
        missing = await call(browser, ALICE, method, concrete(path, "t999"))
        # Same answer whether t2 exists or not: ids do not leak.
        assert (other.status, missing.status) == (404, 404)
        assert await other.text() == await missing.text()
    own = await call(browser, ALICE, method, concrete(path, "t1"))
    if access is Access.LANDLORD:
        assert own.status == 404
    else:
        assert own.status == 200, await own.text()
    assert (await api.call("GET", "/api/tenants/t2"))["balance"] == before


@pytest.mark.parametrize(
    ("method", "path", "access", "handler"),
    [route for route in ROUTES if route[0] == "GET"],
    ids=[route_id for route_id in ROUTE_IDS if route_id.startswith("GET")],
)
async def test_the_landlord_opens_every_page(
    site: tuple[Api, Browser],
    ledger: LedgerService,
    clock: FakeClock,
    method: str,
    path: str,
    access: Access,
    handler: Any,
) -> None:
    _api, browser = site
    await issue_statements_for(path, ledger, clock)
    for tenant_id in ("t1", "t2"):
        reply = await browser.get(LANDLORD, concrete(path, tenant_id))
        assert reply.status == 200, await reply.text()
    if "{tenant_id}" in path:
        assert (await browser.get(LANDLORD, concrete(path, "t999"))).status == 404


async def test_headers_from_an_untrusted_address_are_ignored(
    ledger: LedgerService, socket_enabled: None
) -> None:
    # Only the Supervisor is trusted; this request comes from 127.0.0.1.
    async with TestClient(TestServer(build_app(ledger, {"172.30.32.2"}))) as client:
        for user in (LANDLORD, ALICE):
            reply = await client.get("/", headers=user.headers("/api/hassio_ingress/x"))
            assert reply.status == 403
            text = await reply.text()
            assert "Open this page from the Tenant Metering panel" in text
            assert "/api/hassio_ingress/x" not in text


async def test_links_follow_the_ingress_path(site: tuple[Api, Browser]) -> None:
    _api, browser = site
    prefix = "/api/hassio_ingress/AbC_123"
    browser.forget_session()
    reply = await browser.client.get("/", headers=LANDLORD.headers(prefix))
    text = await reply.text()
    assert f'href="{prefix}/tenants/t1"' in text
    assert f'href="{prefix}/static/web.css"' in text
    assert 'href="/tenants' not in text
    assert "tm_session" in reply.headers["Set-Cookie"]
    assert f"Path={prefix}/" in reply.headers["Set-Cookie"]
    assert "SameSite=Strict" in reply.headers["Set-Cookie"]
    hostile = await browser.client.get("/", headers=LANDLORD.headers('/x"><script>'))
    assert "<script>" not in await hostile.text()


async def test_the_landlord_is_recognised_by_user_id_too(
    ledger: LedgerService, socket_enabled: None
) -> None:
    app = build_app(ledger, {LOCAL})
    async with TestClient(TestServer(app)) as client:
        reply = await client.get("/audit", headers=LANDLORD.headers())
        assert reply.status == 200


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "security token is missing"),
        ("0" * 64, "security token is not valid"),
    ],
)
async def test_forms_without_a_valid_csrf_token_are_refused(
    site: tuple[Api, Browser], token: str | None, message: str
) -> None:
    api, browser = site
    before = (await api.call("GET", "/api/tenants/t1"))["balance"]
    await browser.token(LANDLORD)
    reply = await browser.client.post(
        "/tenants/t1/topup",
        data={"amount": "5.00", "reason": "cash"}
        | ({} if token is None else {"csrf_token": token}),
        headers=LANDLORD.headers(),
    )
    assert reply.status == 403
    assert message in await reply.text()
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == before


async def test_a_csrf_token_is_bound_to_its_user_and_session(site: tuple[Api, Browser]) -> None:
    api, browser = site
    before = (await api.call("GET", "/api/tenants/t1"))["balance"]
    alice_token = await browser.token(ALICE)
    stolen = await browser.post(
        LANDLORD, "/tenants/t1/topup", {"amount": "5.00", "reason": "x"}, token=alice_token
    )
    assert stolen.status == 403
    good = await browser.token(LANDLORD)
    browser.forget_session()
    no_cookie = await browser.post(
        LANDLORD, "/tenants/t1/topup", {"amount": "5.00", "reason": "x"}, token=good
    )
    assert no_cookie.status == 403
    assert "security token is missing" in await no_cookie.text()
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == before


async def test_an_unlinked_visitor_is_offered_to_the_landlord(site: tuple[Api, Browser]) -> None:
    _api, browser = site
    await browser.get(CAROL, "/")
    overview = await (await browser.get(LANDLORD, "/")).text()
    assert "Carol Unlinked" in overview
    reply = await browser.post(LANDLORD, "/tenants/t2/users", {"user_id": CAROL.user_id})
    assert reply.status == 303
    carol = await browser.get(CAROL, "/")
    assert carol.status == 200
    assert "Room t2" in await carol.text()
    unlinked = await browser.post(LANDLORD, "/tenants/t2/users/remove", {"user_id": BOB.user_id})
    assert unlinked.status == 303
    assert (await browser.get(BOB, "/")).status == 403
