"""The demo's Home Assistant part: a real HA started by ``scripts/demo``, checked as a user would.

Marked slow (a real HA process: about 10-30 s on a warm machine, well under a minute), and still
run by scripts/test: it is the only test that proves the README's main command gives a working
HA with the logins it prints.
"""

import asyncio
from decimal import Decimal
from pathlib import Path
import re
from typing import Any

import aiohttp
import pytest

from tenant_sim.building import hostel
from tests.demo.demo_run import DemoRun
from tests.demo.tenant_portal import tenant_sees_only_their_portal

BUILDING = hostel()
DOMAIN = "tenant_metering"
HA_OWN_ENTRIES = {"backup", "analytics"}
READY_TIMEOUT = 240


async def _login(session: aiohttp.ClientSession, base: str, user: str, password: str) -> str:
    """HA's own login flow (what the login page does); returns an access token."""
    client_id = base + "/"
    async with session.post(
        f"{base}/auth/login_flow",
        json={"client_id": client_id, "handler": ["homeassistant", None], "redirect_uri": base},
    ) as reply:
        flow = await reply.json()
    async with session.post(
        f"{base}/auth/login_flow/{flow['flow_id']}",
        json={"client_id": client_id, "username": user, "password": password},
    ) as reply:
        result = await reply.json()
    if result["type"] != "create_entry":
        return ""
    async with session.post(
        f"{base}/auth/token",
        data={"grant_type": "authorization_code", "code": result["result"], "client_id": client_id},
    ) as reply:
        token: str = (await reply.json())["access_token"]
        return token


async def _ws(
    session: aiohttp.ClientSession,
    base: str,
    token: str,
    command: str,
    *,
    expect_success: bool = True,
) -> Any:
    """The command's result, or its error when ``expect_success`` is False."""
    async with session.ws_connect(base + "/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        await ws.send_json({"id": 1, "type": command})
        reply = await ws.receive_json()
        assert reply["success"] is expect_success, reply
        return reply["result"] if expect_success else reply["error"]


INGRESS = "/api/hassio_ingress/demo"
_LINK = re.compile(r'(?:href|src|action)="([^"]*)"')
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_FORM_KEY = re.compile(r'name="form_key" value="([A-Za-z0-9_-]+)"')


async def _through_ingress(
    portal: str, user: str, password: str
) -> tuple[aiohttp.ClientSession, aiohttp.ClientResponse]:
    """A browser-like session logged in through the demo's ingress stand-in."""
    session = aiohttp.ClientSession(portal, cookie_jar=aiohttp.CookieJar(unsafe=True))
    reply = await session.post("/login", data={"username": user, "password": password})
    await reply.read()
    return session, reply


async def _console_through_ingress(portal: str, logins: dict[str, str]) -> None:
    # A wrong password: the login form again, with the reason; no session.
    session, reply = await _through_ingress(portal, "landlord", logins["landlord"] + "x")
    async with session:
        assert reply.status == 401
        assert "Wrong user name or password." in await reply.text()
        async with session.get(f"{INGRESS}/", headers={"X-Remote-User-Name": "landlord"}) as page:
            assert page.url.path == "/login"  # forged headers alone reach nothing

    # The landlord: the console with every tenant; every link works under the ingress path.
    session, reply = await _through_ingress(portal, "landlord", logins["landlord"])
    async with session:
        assert reply.url.path == "/"
        assert "Landlord (landlord)" in await reply.text()
        async with session.get(f"{INGRESS}/") as page:
            overview = await page.text()
        assert all(tenant.name in overview for tenant in BUILDING.tenants)
        links = {link for link in _LINK.findall(overview) if link.startswith("/")}
        assert links
        assert all(link.startswith(INGRESS + "/") for link in links), links
        for link in sorted(links):
            async with session.get(link) as page:
                assert page.status == 200, link
        # A form through the proxy: body, CSRF token and cookie reach the ledger.
        async with session.get(f"{INGRESS}/tenants/t103") as page:
            text = await page.text()
            token, form_key = _CSRF.findall(text)[0], _FORM_KEY.findall(text)[0]
        async with session.post(
            f"{INGRESS}/tenants/t103/topup",
            data={
                "csrf_token": token,
                "form_key": form_key,
                "amount": "1.00",
                "reason": "through ingress",
            },
        ) as page:
            assert page.url.path == f"{INGRESS}/tenants/t103"
            assert "Top-up recorded." in await page.text()


@pytest.mark.slow
async def test_demo_home_assistant_is_set_up_with_the_printed_logins(
    tmp_path: Path, socket_enabled: None
) -> None:
    run = DemoRun(
        tmp_path,
        *("--interval", "2", "--mqtt-port", "0", "--ledger-port", "0", "--ha-port", "0"),
        *("--portal-port", "0"),
    )
    try:
        await asyncio.to_thread(run.wait_for, "Press Ctrl-C", READY_TIMEOUT)
        for step in (
            "onboarding done, landlord login created",
            "MQTT connected",
            "Tenant Metering: MQTT breakers hub added",
            "Tenant Metering: ledger linked",
            "Tenant Metering: Modbus gateway",
            "Tenant Metering: breaker and tenant entities created",
            "automations created from the blueprints",
            "tenant portal on",
            "ingress stand-in on",
        ):
            assert f"✓ {step}" in run.output
        summary = run.summary()
        base, logins = summary["home_assistant_url"], summary["logins"]
        assert set(logins) == {"landlord"}  # tenants get the portal, not a login
        for user, password in logins.items():
            assert f"user {user:<9} password {password}" in run.output

        async with aiohttp.ClientSession() as session:
            landlord = await _login(session, base, "landlord", logins["landlord"])
            assert landlord
            assert await _login(session, base, "ana", "any") == ""

            headers = {"Authorization": f"Bearer {landlord}"}
            async with session.get(
                f"{base}/api/config/config_entries/entry", headers=headers
            ) as reply:
                entries = await reply.json()
            loaded = sorted(e["domain"] for e in entries if e["state"] == "loaded")
            # HA adds entries of its own ("backup"; "analytics" since 2026); ours: the MQTT
            # hub, ledger link, Modbus gateway.
            assert [d for d in loaded if d not in HA_OWN_ENTRIES] == ["mqtt", *[DOMAIN] * 3]
            # Nobody but the landlord logs in: HA cannot hide one tenant's entities from another.
            users = await _ws(session, base, landlord, "config/auth/list")
            groups = {u["username"]: u["group_ids"] for u in users if u["username"]}
            assert groups == {"landlord": ["system-admin"]}
            assert [u["username"] for u in users if u["is_owner"]] == ["landlord"]

            # The tenant entities show the ledger's balances (both move as readings arrive:
            # compare snapshots until one is taken between two updates).
            registry = await _ws(session, base, landlord, "config/entity_registry/list")
            entity_ids = {e["unique_id"]: e["entity_id"] for e in registry}
            ledger_url = summary["ledger_url"]
            ledger_headers = {"Authorization": f"Bearer {summary['ledger_admin_token']}"}
            for _ in range(10):
                async with session.get(f"{base}/api/states", headers=headers) as reply:
                    states = {s["entity_id"]: s for s in await reply.json()}
                async with session.get(f"{ledger_url}/api/tenants", headers=ledger_headers) as r:
                    ledger = {t["tenant_id"]: t["balance"] for t in (await r.json())["tenants"]}
                in_ha = {
                    t.tenant_id: states[entity_ids[f"tenant_{t.tenant_id}_balance"]]["state"]
                    for t in BUILDING.tenants
                }
                if {k: Decimal(v) for k, v in in_ha.items()} == {
                    k: Decimal(v) for k, v in ledger.items()
                }:
                    break
                await asyncio.sleep(0.3)
            assert {k: Decimal(v) for k, v in in_ha.items()} == {
                k: Decimal(v) for k, v in ledger.items()
            }
            automations = [s for s in states if s.startswith("automation.")]
            assert len(automations) >= 1 + len(BUILDING.tenants)

        portal = summary["portal_url"]
        assert f"Landlord console {portal}  (log in with the Home Assistant user above)" in (
            run.output
        )
        await _console_through_ingress(portal, logins)
        await tenant_sees_only_their_portal(summary, "t101", "Ana Costa", ledger_headers)
    finally:
        status = run.stop()
    assert status == 0, run.output
    assert "✓ stopped cleanly" in run.output
