"""The demo's ingress stand-in without Home Assistant: a fake login and an echoing "ledger".

What the ledger receives is what it trusts, so these check exactly that: identity headers
come from the session only (a browser's are stripped, whatever their case), the ingress path
is the mount point, and method, path, query, body, Content-Type and the ledger's own cookies
go through unchanged; redirects are passed to the browser, not followed.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
import pytest
from yarl import URL

from tenant_sim.ingress import (
    SESSION_COOKIE,
    HaIdentity,
    IngressStandIn,
    LoginError,
    upstream_headers,
)
from tenant_sim.net import free_port

PREFIX = "/api/hassio_ingress/demo-token"
ANA = HaIdentity(user_id="ana-id", username="ana", name="Ana Costa", is_admin=False)


async def _fake_login(username: str, password: str) -> HaIdentity:
    if (username.strip().casefold(), password) == ("ana", "right"):  # as HA normalizes
        return ANA
    raise LoginError("Wrong user name or password.")


async def _echo(request: web.Request) -> web.StreamResponse:
    if request.path == "/go":
        raise web.HTTPSeeOther(request.headers["X-Ingress-Path"] + "/landed")
    response = web.json_response(
        {
            "method": request.method,
            "path": request.path,
            "raw_path": request.raw_path,
            "body": (await request.read()).decode(),
            "headers": [[k, v] for k, v in request.headers.items()],
        }
    )
    response.set_cookie("tm_session", "n" * 43, path=PREFIX + "/", samesite="Strict")
    return response


@dataclass
class Setup:
    proxy: IngressStandIn
    session: aiohttp.ClientSession


@pytest.fixture
async def setup(socket_enabled: None) -> AsyncIterator[Setup]:
    ledger = web.Application()
    ledger.router.add_route("*", "/{tail:.*}", _echo)
    runner = web.AppRunner(ledger)
    await runner.setup()
    ledger_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", ledger_port).start()
    proxy = IngressStandIn(
        ledger_url=f"http://127.0.0.1:{ledger_port}",
        ha_url="http://127.0.0.1:1",
        port=free_port(),
        prefix=PREFIX,
        authenticate=_fake_login,
    )
    await proxy.start()
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(proxy.url, cookie_jar=jar) as session:
        yield Setup(proxy, session)
    await proxy.stop()
    await runner.cleanup()


async def _login(session: aiohttp.ClientSession, password: str, next_: str = "/") -> Any:
    return await session.post(
        "/login",
        data={"username": " Ana ", "password": password, "next": next_},
        allow_redirects=False,
    )


async def test_anonymous_visitors_go_to_the_login_page_and_never_reach_the_ledger(
    setup: Setup,
) -> None:
    async with setup.session.get(
        f"{PREFIX}/tenants/t101?span=week",
        headers={"X-Remote-User-Id": "ana-id"},
        allow_redirects=False,
    ) as reply:
        assert reply.status == 303
        location = URL(reply.headers["Location"])
        assert location.path == "/login"
        assert location.query["next"] == f"{PREFIX}/tenants/t101?span=week"
    async with setup.session.post(f"{PREFIX}/tenants/t101/topup", data={"a": "1"}) as reply:
        assert reply.status == 401
    async with setup.session.get("/") as reply:  # the panel, too
        assert reply.url.path == "/login"


async def test_wrong_password_shows_the_form_again_with_the_reason(setup: Setup) -> None:
    async with await _login(setup.session, "wrong") as reply:
        assert reply.status == 401
        page = await reply.text()
    assert "Wrong user name or password." in page
    assert 'name="password"' in page
    assert 'value=" Ana "' in page  # what was typed stays
    assert not [c for c in setup.session.cookie_jar if c.key == SESSION_COOKIE]


async def test_the_ledger_gets_the_sessions_identity_and_never_the_browsers(setup: Setup) -> None:
    async with await _login(setup.session, "right", f"{PREFIX}/tenants/t101") as reply:
        assert reply.status == 303
        assert reply.headers["Location"] == f"{PREFIX}/tenants/t101"
        cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/" in cookie

    async with setup.session.get("/") as reply:
        panel = await reply.text()
    assert "Ana Costa (ana)" in panel
    assert f'<iframe src="{PREFIX}/"' in panel
    assert 'href="/logout"' in panel

    forged = {
        "X-Remote-User-Id": "landlord-id",
        "x-remote-user-name": "landlord",
        "X-REMOTE-USER-DISPLAY-NAME": "Landlord",
        "X-Remote-User-Is-Admin": "true",
        "X-Ingress-Path": "/elsewhere",
        "X-Forwarded-For": "10.9.9.9",
    }
    async with setup.session.get(
        f"{PREFIX}/tenants/t101/readings?span=week&x=%C3%A9", headers=forged
    ) as reply:
        assert reply.status == 200
        echoed = await reply.json()
        assert reply.cookies["tm_session"]["path"] == PREFIX + "/"  # the ledger's, passed on
    headers: list[list[str]] = echoed["headers"]
    identity = [(k.lower(), v) for k, v in headers if k.lower().startswith(("x-remote", "x-ing"))]
    assert sorted(identity) == [
        ("x-ingress-path", PREFIX),
        ("x-remote-user-display-name", "Ana Costa"),
        ("x-remote-user-id", "ana-id"),
        ("x-remote-user-name", "ana"),
    ]
    assert ["X-Forwarded-For", "127.0.0.1"] in headers
    assert echoed["raw_path"] == "/tenants/t101/readings?span=week&x=%C3%A9"

    # A form: body, Content-Type and the ledger's CSRF cookie go through; our cookie does not.
    async with setup.session.post(
        f"{PREFIX}/tenants/t101/topup",
        data={"amount": "10.00", "reason": "cash", "csrf_token": "abc"},
    ) as reply:
        echoed = await reply.json()
    assert echoed["method"] == "POST"
    assert echoed["body"] == "amount=10.00&reason=cash&csrf_token=abc"
    sent = {k.lower(): v for k, v in echoed["headers"]}
    assert sent["content-type"] == "application/x-www-form-urlencoded"
    assert sent["cookie"] == "tm_session=" + "n" * 43
    assert sent["x-remote-user-id"] == "ana-id"

    async with setup.session.get(f"{PREFIX}/go", allow_redirects=False) as reply:
        assert reply.status == 303
        assert reply.headers["Location"] == f"{PREFIX}/landed"
    async with setup.session.get(PREFIX, allow_redirects=False) as reply:
        assert reply.headers["Location"] == f"{PREFIX}/"

    async with setup.session.get("/logout", allow_redirects=False) as reply:
        assert reply.headers["Location"] == "/login"
    async with setup.session.get(f"{PREFIX}/", allow_redirects=False) as reply:
        assert reply.status == 303  # the session is gone


async def test_login_never_redirects_elsewhere(setup: Setup) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/api/other"):
        async with await _login(setup.session, "right", target) as reply:
            assert reply.headers["Location"] == "/"


def test_forwarded_headers_keep_the_rest_of_the_request() -> None:
    headers = upstream_headers(
        [
            ("Accept", "text/html"),
            ("Cookie", f"{SESSION_COOKIE}=secret; other=1"),
            ("x-Remote-User-ID", "x"),
            ("X-Hass-Source", "forged"),
            ("Connection", "keep-alive"),
            ("Host", "127.0.0.1:8100"),
        ],
        ANA,
        prefix=PREFIX,
        peer="127.0.0.1",
        host="127.0.0.1:8100",
        scheme="http",
    )
    assert headers["Accept"] == "text/html"
    assert headers["Cookie"] == "other=1"
    assert headers.getall("X-Remote-User-Id") == ["ana-id"]
    assert headers["X-Hass-Source"] == "core.ingress"
    assert "Connection" not in headers
    assert "Host" not in headers
    assert headers["X-Forwarded-Host"] == "127.0.0.1:8100"
