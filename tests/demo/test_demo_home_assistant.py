"""The demo's Home Assistant part: a real HA started by ``scripts/demo``, checked as a user would.

Marked slow (a real HA process, started once for the module: about 20-40 s on a warm machine,
well under a minute), and still run by scripts/test: it is the only test that proves the
README's main command gives a working HA with the logins it prints, and that the rooms' water
reaches the tenants' sensors through it.
"""

import asyncio
from collections.abc import Iterator
from decimal import Decimal
import re
from typing import Any

import aiohttp
import pytest

from custom_components.tenant_metering.identifiers import channel_unique_id, modbus_device_id
from custom_components.tenant_metering.resources import Resource
from custom_components.tenant_metering.sources.adopted.register import Skipped, register_of
from tenant_sim import pulse_counters
from tenant_sim.building import HEAT_SLAVE_ID, MODBUS_GATEWAY_UID, hostel
from tests.demo.demo_run import DemoRun
from tests.demo.tenant_portal import tenant_sees_only_their_portal

BUILDING = hostel()
DOMAIN = "tenant_metering"
HA_OWN_ENTRIES = {"backup", "analytics"}
READY_TIMEOUT = 240


@pytest.fixture(scope="module")
def demo_with_ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """``scripts/demo`` with its Home Assistant, on free ports, shared by this module's tests
    (one HA start); it must stop cleanly at the end."""
    run = DemoRun(
        tmp_path_factory.mktemp("demo"),
        *("--interval", "2", "--mqtt-port", "0", "--ledger-port", "0", "--ha-port", "0"),
        *("--portal-port", "0", "--tenant-portal-port", "0"),
    )
    try:
        run.wait_for("Press Ctrl-C", READY_TIMEOUT)
        yield run
    finally:
        status = run.stop()
    assert status == 0, run.output
    assert "✓ stopped cleanly" in run.output


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
    demo_with_ha: DemoRun, socket_enabled: None
) -> None:
    run = demo_with_ha
    for step in (
        "onboarding done, landlord login created",
        "MQTT connected",
        "Tenant Metering: MQTT breakers hub added",
        "Tenant Metering: ledger linked",
        "Tenant Metering: Modbus gateway",
        "Tenant Metering: heat meter (generic_heat_meter) as slave 2 of the gateway",
        "Tenant Metering: the 11 rooms' pulse counters adopted as water points",
        "Tenant Metering: breaker and tenant entities created",
        "automations created from the blueprints",
        "energy dashboard:",
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
        async with session.get(f"{base}/api/config/config_entries/entry", headers=headers) as reply:
            entries = await reply.json()
        loaded = sorted(e["domain"] for e in entries if e["state"] == "loaded")
        # HA adds entries of its own ("backup"; "analytics" since 2026); ours: the MQTT
        # hub, ledger link, Modbus gateway and one adopted sensor per water counter.
        water = len(BUILDING.water_meters)
        assert [d for d in loaded if d not in HA_OWN_ENTRIES] == [
            "mqtt",
            *[DOMAIN] * (3 + water),
        ]
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
    assert f"Landlord console {portal}  (log in with the Home Assistant user above)" in (run.output)
    await _console_through_ingress(portal, logins)
    await tenant_sees_only_their_portal(summary, "t101", "Ana Costa", ledger_headers)


async def _states(session: aiohttp.ClientSession, base: str, token: str) -> dict[str, Any]:
    async with session.get(
        f"{base}/api/states", headers={"Authorization": f"Bearer {token}"}
    ) as reply:
        return {state["entity_id"]: state for state in await reply.json()}


async def _ledger(session: aiohttp.ClientSession, summary: dict[str, Any], path: str) -> Any:
    headers = {"Authorization": f"Bearer {summary['ledger_admin_token']}"}
    async with session.get(summary["ledger_url"] + path, headers=headers) as reply:
        assert reply.status == 200, path
        return await reply.json()


async def _last_register(
    session: aiohttp.ClientSession, summary: dict[str, Any], point: str
) -> int:
    readings = (await _ledger(session, summary, f"/api/readings?point={point}&limit=10000"))[
        "readings"
    ]
    return int(max(readings, key=lambda reading: reading["ts"])["energy_wh"])


@pytest.mark.slow
async def test_a_rooms_water_reaches_its_tenants_water_sensor_in_home_assistant(
    demo_with_ha: DemoRun, socket_enabled: None
) -> None:
    """Room 101's ESPHome pulse counter, found by MQTT discovery and adopted in Home
    Assistant, is the ledger's water point of Ana's room; its litres since the move-in are
    her Period water, to the litre; the energy dashboard shows the counters; the heat meter is
    read over Modbus by Home Assistant."""
    summary = demo_with_ha.summary()
    base = summary["home_assistant_url"]
    meter = next(m for m in BUILDING.water_meters if m.space_id == "r101")
    async with aiohttp.ClientSession() as session:
        token = await _login(session, base, "landlord", summary["logins"]["landlord"])
        registry = {
            e["unique_id"]: e
            for e in await _ws(session, base, token, "config/entity_registry/list")
        }
        counters = {
            m.point_id: registry[pulse_counters.unique_id(m)] for m in BUILDING.water_meters
        }
        assert {c["platform"] for c in counters.values()} == {"mqtt"}
        counter = counters[meter.point_id]["entity_id"]
        point = f"ha:{counters[meter.point_id]['id']}"
        tenant_water = registry["tenant_t101_water_period_usage"]["entity_id"]

        # The ledger's water points are the adopted sensors, each in its room, held by the
        # room's tenant since the move-in (the month so far is theirs); no bridge ids.
        points = {p["id"]: p for p in (await _ledger(session, summary, "/api/points"))["points"]}
        water_points = {p["id"] for p in points.values() if p["resource"] == "water"}
        assert water_points == {f"ha:{c['id']}" for c in counters.values()}
        assert (points[point]["space_id"], points[point]["name"]) == ("r101", meter.name)
        held = [
            a
            for a in (await _ledger(session, summary, "/api/assignments"))["assignments"]
            if a["point_id"] == point
        ]
        assert [(a["tenant_id"], a["end_us"]) for a in held] == [("t101", None)]

        # The counter's litres in HA (its state), in the ledger (the last reading HA sent)
        # and on Ana's Period water sensor agree to the litre: all the water since the
        # move-in, when the counter stood at its start. They move as she showers: compare
        # snapshots until one falls between two updates.
        for _ in range(40):
            states = await _states(session, base, token)
            litres = int(states[counter]["state"])
            usage_m3 = Decimal(states[tenant_water]["state"])
            in_ledger = await _last_register(session, summary, point)
            if litres == in_ledger and usage_m3 * 1000 == litres - meter.start_l:
                break
            await asyncio.sleep(0.5)
        assert states[counter]["attributes"]["unit_of_measurement"] == "L"
        assert states[counter]["attributes"]["device_class"] == "water"
        assert states[tenant_water]["attributes"]["unit_of_measurement"] == "m³"
        assert in_ledger == litres
        assert usage_m3 * 1000 == litres - meter.start_l

        # The energy dashboard has every counter: individual water devices where HA has them
        # (2025.12+), else water sources (2025.4).
        prefs = await _ws(session, base, token, "energy/get_prefs")
        in_dashboard = {d["stat_consumption"] for d in prefs.get("device_consumption_water", [])}
        in_dashboard |= {
            s["stat_energy_from"] for s in prefs["energy_sources"] if s["type"] == "water"
        }
        assert {c["entity_id"] for c in counters.values()} <= in_dashboard

        # The heat meter is slave 2 of the gateway, read by HA with the generic_heat_meter
        # profile: the ledger's heat point gets HA's register, exactly.
        heat_uid = channel_unique_id(
            modbus_device_id(MODBUS_GATEWAY_UID, HEAT_SLAVE_ID), "1", "energy"
        )
        heat_entity = registry[heat_uid]["entity_id"]
        # The register keeps counting; HA's state follows every poll while the ledger gets a
        # reading per interval: the ledger's last reading must be a register HA showed, exactly.
        shown: set[int | Skipped] = set()
        for _ in range(240):
            heat = (await _states(session, base, token))[heat_entity]
            shown.add(
                register_of(heat["state"], heat["attributes"]["unit_of_measurement"], Resource.HEAT)
            )
            in_ledger = await _last_register(session, summary, BUILDING.heat_meter.point_id)
            if in_ledger in shown:
                break
            await asyncio.sleep(0.5)
        assert in_ledger in shown, (in_ledger, sorted(map(str, shown)))
