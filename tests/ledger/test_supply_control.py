"""Supply control has one owner: the ledger decides, Home Assistant switches and reports.

Through the API with the service's clock moved by the test (2026-11-10 13:00 Berlin at start).
"""

import argparse
import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import time
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest

from tenant_ledger import server
from tenant_ledger.app import create_app
from tenant_ledger.billing import QuietHours
from tenant_ledger.config import CutoffPolicy, LedgerConfig
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker

from .conftest import Api, FakeClock
from .mqtt_probe import MqttProbe

NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC
DAY = 86_400
PLAN = {"low_balance_threshold": "5.00", "reconnect_minimum": "10.00", "grace_days": 1}


@pytest.fixture
def policy() -> CutoffPolicy:
    return CutoffPolicy()


@pytest.fixture
async def supply_api(
    make_config: Callable[..., LedgerConfig],
    clock: FakeClock,
    policy: CutoffPolicy,
    socket_enabled: None,
) -> AsyncIterator[tuple[Api, LedgerService]]:
    service = LedgerService(make_config(cutoff=policy), clock=clock)
    await service.start()
    try:
        async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
            yield Api(client), service
    finally:
        await service.stop()


async def _in_arrears(api: Api, tenants: list[str]) -> None:
    """Each tenant -3.00 (10 kWh at 0.30) beyond a credit limit of 0, supply reported on."""
    await api.building(tenants={t: f"mqtt:dev:{n}" for n, t in enumerate(tenants, 1)}, plan=PLAN)
    readings = [
        {"point": f"mqtt:dev:{n}", "ts": ts, "energy_wh": wh}
        for n in range(1, len(tenants) + 1)
        for ts, wh in ((NOV_5, 0), (NOV_5 + 3600, 10_000))
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    for tenant in tenants:
        await _report(api, tenant, "on")


async def _report(
    api: Api, tenant: str, supply: str, cause: str | None = None, expect: int = 200
) -> Any:
    body: dict[str, Any] = {"supply": supply, "reason": "seen by HA", "actor": "Home Assistant"}
    if cause is not None:
        body["cause"] = cause
    return await api.call("POST", f"/api/tenants/{tenant}/supply", body, expect=expect)


async def _after(service: LedgerService, clock: FakeClock, seconds: int) -> None:
    clock.advance(seconds)
    await service.tick()


async def test_unknown_supply_is_never_cut(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    api, service = supply_api
    await api.building(tenants={"t1": "mqtt:dev:1"}, plan=PLAN)
    readings = [
        {"point": "mqtt:dev:1", "ts": ts, "energy_wh": wh}
        for ts, wh in ((NOV_5, 0), (NOV_5 + 3600, 10_000))
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    await _after(service, clock, 2 * DAY)
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply"], state["supply_action"]) == ("arrears", None, "none")
    assert "supply state unknown" in state["status_reason"]


async def test_cut_after_grace_then_a_small_top_up_stays_off_and_enough_restores(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    api, service = supply_api
    await _in_arrears(api, ["t1"])
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply_action"]) == ("arrears", "none")
    assert "cut-off not before" in state["status_reason"]

    await _after(service, clock, DAY // 2)
    assert (await api.call("GET", "/api/tenants/t1"))["supply_action"] == "none"
    await _after(service, clock, DAY)
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply_action"]) == ("disconnect_due", "cut")

    cut = await _report(api, "t1", "off", "arrears")
    assert (cut["status"], cut["supply_action"]) == ("disconnected", "none")
    assert cut["supply"]["cause"] == "arrears"
    assert cut["supply"]["actor"] == "Home Assistant"
    assert "10.00 EUR needed to reconnect" in cut["status_reason"]
    # The same report again (a retry, an HA restart) records nothing new.
    again = await _report(api, "t1", "off", "arrears")
    assert again["supply"]["since"] == cut["supply"]["since"]

    small = await api.call(
        "POST", "/api/tenants/t1/topups", {"amount": "5.00", "reason": "cash"}, expect=201
    )
    assert (small["balance"], small["state"]["status"]) == ("2.00", "disconnected")
    assert small["state"]["supply_action"] == "none"
    enough = await api.call(
        "POST", "/api/tenants/t1/topups", {"amount": "10.00", "reason": "cash"}, expect=201
    )
    assert (enough["balance"], enough["state"]["status"]) == ("12.00", "ok")
    assert enough["state"]["supply_action"] == "restore"
    restored = await _report(api, "t1", "on")
    assert (restored["status"], restored["supply_action"], restored["supply"]["cause"]) == (
        "ok",
        "none",
        None,
    )


async def test_a_landlords_cut_stays_off_after_a_top_up(
    supply_api: tuple[Api, LedgerService],
) -> None:
    api, _service = supply_api
    await _in_arrears(api, ["t1"])
    for cause in ("landlord", "safety"):
        state = await _report(api, "t1", "off", cause)
        assert (state["status"], state["supply_action"]) == ("disconnected", "none")
        assert "only the landlord switches it on" in state["status_reason"]
        topped = await api.call(
            "POST", "/api/tenants/t1/topups", {"amount": "50.00", "reason": "cash"}, expect=201
        )
        assert (topped["state"]["status"], topped["state"]["supply_action"]) == (
            "disconnected",
            "none",
        )
        # The landlord switches it on again; HA reports it.
        assert (await _report(api, "t1", "on"))["status"] == "ok"


@pytest.mark.parametrize(
    "policy", [CutoffPolicy(quiet_hours=QuietHours.parse("12:00-14:00"))], ids=["quiet-12-14"]
)
async def test_no_cut_in_quiet_hours_then_cut_when_they_end(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    api, service = supply_api
    await _in_arrears(api, ["t1"])
    await _after(service, clock, DAY + 60)  # grace over at 13:01 Berlin: quiet hours
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply_action"]) == ("arrears", "none")
    assert "quiet hours until 14:00" in state["status_reason"]
    await _after(service, clock, 3600)  # 14:01
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply_action"]) == ("disconnect_due", "cut")


async def test_an_exempt_tenant_is_never_cut(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    api, service = supply_api
    await _in_arrears(api, ["t1"])
    exempt = {"exempt": True, "reason": "medical", "until": None}
    await api.call("PUT", "/api/tenants/t1/exemption", exempt, expect=200)
    await _after(service, clock, 5 * DAY)
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply_action"]) == ("exempt", "none")


@pytest.mark.parametrize("policy", [CutoffPolicy(needs_approval=True)], ids=["approval"])
async def test_approval_required_then_given_then_spent_by_the_cut(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    api, service = supply_api
    await _in_arrears(api, ["t1"])
    await _after(service, clock, 2 * DAY)
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["supply_action"]) == ("arrears", "none")
    assert state["cutoff_awaiting_approval"] is True
    assert "awaits the landlord's approval" in state["status_reason"]

    approved = await api.call(
        "POST", "/api/tenants/t1/cutoff-approvals", {"reason": "3 reminders"}, expect=201
    )
    assert (approved["status"], approved["supply_action"]) == ("disconnect_due", "cut")
    assert approved["cutoff_approved"] is True
    cut = await _report(api, "t1", "off", "arrears")
    assert (cut["status"], cut["cutoff_approved"]) == ("disconnected", False)
    audit = await api.call("GET", "/api/audit")
    actions = [row["action"] for row in audit["audit"]]
    assert "approve_cutoff" in actions
    assert "supply" in actions


@pytest.mark.parametrize("policy", [CutoffPolicy(guard_limit=2)], ids=["guard-2"])
async def test_the_guard_trips_at_the_limit_and_further_cuts_need_approval(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    """Three tenants due in one pass (a tariff typo?): two are cut, the third waits."""
    api, service = supply_api
    tenants = ["t1", "t2", "t3"]
    await _in_arrears(api, tenants)
    await _after(service, clock, 2 * DAY)
    states = {t: await api.call("GET", f"/api/tenants/{t}") for t in tenants}
    assert [states[t]["supply_action"] for t in tenants] == ["cut", "cut", "none"]
    third = states["t3"]
    assert (third["cutoff_guard_count"], third["cutoff_guard_limit"]) == (2, 2)
    assert (third["status"], third["cutoff_awaiting_approval"]) == ("arrears", True)
    await _report(api, "t1", "off", "arrears")
    await _report(api, "t2", "off", "arrears")
    assert (await api.call("GET", "/api/tenants/t3"))["supply_action"] == "none"
    # An hour after the cut-offs the guard has reset.
    await _after(service, clock, 3601)
    third = await api.call("GET", "/api/tenants/t3")
    assert (third["cutoff_guard_count"], third["supply_action"]) == (0, "cut")


@pytest.mark.parametrize("policy", [CutoffPolicy(guard_limit=1)], ids=["guard-1"])
async def test_an_approval_lets_one_cut_past_the_guard(
    supply_api: tuple[Api, LedgerService], clock: FakeClock
) -> None:
    api, service = supply_api
    await _in_arrears(api, ["t1", "t2"])
    await _after(service, clock, 2 * DAY)
    assert (await api.call("GET", "/api/tenants/t2"))["cutoff_awaiting_approval"] is True
    approved = await api.call(
        "POST", "/api/tenants/t2/cutoff-approvals", {"reason": "checked"}, expect=201
    )
    assert approved["supply_action"] == "cut"


async def test_bad_supply_reports_are_refused_and_change_nothing(
    supply_api: tuple[Api, LedgerService],
) -> None:
    api, _service = supply_api
    await _in_arrears(api, ["t1"])
    for body in (
        {"supply": "off", "reason": "x"},  # no cause
        {"supply": "on", "cause": "arrears", "reason": "x"},
        {"supply": "dim", "reason": "x"},
        {"supply": "off", "cause": "weather", "reason": "x"},
        {"supply": "off", "cause": "arrears"},  # no reason
    ):
        error = await api.call("POST", "/api/tenants/t1/supply", body, expect=400)
        assert error["error"]["code"]
    await api.call(
        "POST", "/api/tenants/nobody/supply", {"supply": "on", "reason": "x"}, expect=404
    )
    state = await api.call("GET", "/api/tenants/t1")
    assert state["supply"]["state"] == "on"


def _serve_args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    server.add_arguments(parser)
    return parser.parse_args(["--data-dir", "/nonexistent", *extra])


def test_the_policy_comes_from_flags_or_the_add_on_options_parsed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = _serve_args("--quiet-hours", "22:00-07:00", "--cutoff-guard-limit", "5")
    policy = server._config(flags, None).cutoff
    assert policy == CutoffPolicy(
        quiet_hours=QuietHours(start=time(22), end=time(7)), guard_limit=5
    )
    assert server._config(_serve_args(), None).cutoff == CutoffPolicy()  # no quiet hours
    # Inside the Supervisor the add-on options win.
    options = {"quiet_hours": "20:00-08:00", "cutoff_needs_approval": True, "cutoff_guard_limit": 2}
    (tmp_path / "options.json").write_text(json.dumps(options), encoding="utf-8")
    monkeypatch.setenv("SUPERVISOR_TOKEN", "x")
    inside = server._config(_serve_args("--data-dir", str(tmp_path)), None).cutoff
    assert inside == CutoffPolicy(
        quiet_hours=QuietHours(start=time(20), end=time(8)), needs_approval=True, guard_limit=2
    )


@pytest.mark.parametrize("text", ["22:00", "25:00-07:00", "22:00-07:00-08:00", "22:00+01:00-07:00"])
def test_bad_quiet_hours_are_refused_at_start(text: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _serve_args("--quiet-hours", text)
    assert exit_info.value.code == 2


GUARD_TOPIC = "tenant_metering/ledger/guard"


async def test_the_building_guard_is_published_as_one_number(
    make_config: Callable[..., LedgerConfig],
    clock: FakeClock,
    mosquitto: MosquittoBroker,
    socket_enabled: None,
) -> None:
    """Home Assistant shows the ledger's guard: the building's count, retained, as it changes."""
    broker = BrokerSettings(host=mosquitto.host, port=mosquitto.port)
    service = LedgerService(make_config(broker, cutoff=CutoffPolicy(guard_limit=2)), clock=clock)
    await service.start()
    try:
        async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
            api = Api(client)
            await _in_arrears(api, ["t1", "t2", "t3"])
            with MqttProbe(mosquitto, GUARD_TOPIC) as probe:
                first, _ = await asyncio.to_thread(probe.wait_for, GUARD_TOPIC)
                assert json.loads(first) == {"count": 0, "limit": 2, "window_s": 3600}
                await _after(service, clock, 2 * DAY)
                held, _ = await asyncio.to_thread(
                    probe.wait_for, GUARD_TOPIC, lambda raw: json.loads(raw)["count"] == 2
                )
            # Two cuts decided, the third held: the building's count is 2, at the limit.
            assert json.loads(held) == {"count": 2, "limit": 2, "window_s": 3600}
            states = [await api.call("GET", f"/api/tenants/t{n}") for n in (1, 2, 3)]
            assert [state["supply_action"] for state in states] == ["cut", "cut", "none"]
            # Each tenant's own count leaves the tenant out; the building's is the one number.
            assert [state["cutoff_guard_count"] for state in states] == [1, 1, 2]
            # A newcomer (Home Assistant after a restart) gets it retained.
            with MqttProbe(mosquitto, GUARD_TOPIC) as late:
                retained, _ = await asyncio.to_thread(late.wait_for, GUARD_TOPIC)
            assert json.loads(retained)["count"] == 2
    finally:
        await service.stop()
