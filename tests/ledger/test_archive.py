"""Archiving a tenant who moved out: gone from the API and from HA, nothing deleted."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
import json
import queue
import time

from aiohttp.test_utils import TestClient, TestServer

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker

from .conftest import Api, FakeClock
from .mqtt_probe import MqttProbe

POINT = "mqtt:a4cf12ab34cd:1"
OTHER = "mqtt:a4cf12ab34cd:2"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC
STATE_T1 = "tenant_metering/ledger/tenant/t1/state"
STATE_T2 = "tenant_metering/ledger/tenant/t2/state"
STATUS_TOPIC = "tenant_metering/ledger/status"
MOVE_OUT = {"at": "2026-11-06T00:00:00+01:00", "reason": "lease ended"}
ARCHIVE = {"reason": "left the building", "actor": "ana"}


async def _moved_out_tenant(api: Api) -> None:
    """t1 used 10 kWh (3.00), paid 5.00, and moved out on 6 November; t2 stays."""
    await api.building(tenants={"t1": POINT, "t2": OTHER})
    readings = [
        {"point": POINT, "ts": NOV_5, "energy_wh": 0},
        {"point": POINT, "ts": NOV_5 + 3600, "energy_wh": 10_000},
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    topup = {"amount": "5.00", "reason": "cash"}
    await api.call("POST", "/api/tenants/t1/topups", topup, expect=201)


async def test_a_tenant_who_still_holds_a_point_cannot_be_archived(api: Api) -> None:
    await _moved_out_tenant(api)
    refused = await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=409)
    assert refused["error"] == {
        "code": "conflict",
        "message": f"tenant t1 still holds {POINT}; move the tenant out first",
    }
    assert "t1" in {t["tenant_id"] for t in (await api.call("GET", "/api/tenants"))["tenants"]}


async def test_a_move_out_in_the_future_still_holds_the_point(api: Api) -> None:
    await _moved_out_tenant(api)
    later = {"at": "2026-11-20T00:00:00+01:00", "reason": "notice given"}
    await api.call("POST", "/api/tenants/t1/move-out", later, expect=200)
    await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=409)


async def test_an_archived_tenant_leaves_the_lists_but_keeps_its_journal_and_audit(
    api: Api, ledger: LedgerService
) -> None:
    await _moved_out_tenant(api)
    await api.call("POST", "/api/tenants/t1/move-out", MOVE_OUT, expect=200)
    done = await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=200)
    assert done == {"tenant_id": "t1", "archived": True, "archived_at": "2026-11-10T12:00:00+00:00"}

    listed = (await api.call("GET", "/api/tenants"))["tenants"]
    assert [t["tenant_id"] for t in listed] == ["t2"]
    gone = await api.call("GET", "/api/tenants/t1", expect=404)
    assert gone["error"]["message"] == "tenant t1 is archived"
    await api.call("POST", "/api/tenants/t1/topups", {"amount": "1.00", "reason": "x"}, expect=404)
    again = await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=404)
    assert again["error"]["message"] == "tenant t1 is archived"
    taken = {"id": "t1", "name": "New", "plan": "main"}
    await api.call("POST", "/api/tenants", taken, expect=409)

    journal = (await api.call("GET", "/api/tenants/t1/journal"))["entries"]
    assert [(e["kind"], e["amount"]) for e in journal] == [("top_up", "5.00"), ("energy", "-3.00")]
    audit = (await api.call("GET", "/api/audit?limit=1"))["audit"][0]
    assert (audit["action"], audit["target"], audit["actor"], audit["reason"]) == (
        "archive_tenant",
        "t1",
        "ana",
        "left the building",
    )
    details = json.loads(audit["details"])
    assert details.pop("journal_head")[0] == journal[0]["entry_id"]  # the chain's anchor
    assert details == {"balance_minor": 200, "unlinked_users": [], "revoked_portal_links": []}
    assert "t1" not in ledger.states


async def test_an_archived_tenant_still_gets_the_statement_of_its_last_period(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await _moved_out_tenant(api)
    await api.call("POST", "/api/tenants/t1/move-out", MOVE_OUT, expect=200)
    await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=200)
    clock.now_us = int(datetime(2026, 12, 1, 6, tzinfo=UTC).timestamp()) * 1_000_000
    await ledger.tick()
    statements = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    assert [s["total"] for s in statements] == ["3.00"]
    assert "t1" not in ledger.states


async def test_archived_tenants_stay_unlisted_after_a_restart(
    make_config: Callable[..., LedgerConfig], clock: FakeClock, socket_enabled: None
) -> None:
    config = make_config()
    first = LedgerService(config, clock=clock)
    await first.start()
    async with TestClient(TestServer(create_app(first, check_answers=True))) as client:
        api = Api(client)
        await _moved_out_tenant(api)
        await api.call("POST", "/api/tenants/t1/move-out", MOVE_OUT, expect=200)
        await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=200)
    await first.stop()
    second = LedgerService(config, clock=clock)
    await second.start()
    try:
        assert sorted(second.states) == ["t2"]
        assert sorted(second.catalog.archived_tenants) == ["t1"]
    finally:
        await second.stop()


def _retained(broker: MosquittoBroker, settle: float = 0.5) -> dict[str, bytes]:
    """What a new subscriber to the ledger's topics receives at once (retained messages)."""
    with MqttProbe(broker) as probe:
        probe.wait_for(STATUS_TOPIC)
        deadline = time.monotonic() + settle
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                topic, payload, _arrived = probe.messages.get(timeout=remaining)
            except queue.Empty:
                break
            probe.latest[topic] = payload
        return dict(probe.latest)


async def test_archiving_clears_the_retained_state_at_the_broker(
    mosquitto: MosquittoBroker, make_config: Callable[..., LedgerConfig], clock: FakeClock
) -> None:
    config = make_config(BrokerSettings(host=mosquitto.host, port=mosquitto.port))
    service = LedgerService(config, clock=clock)
    await service.start()
    async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
        api = Api(client)
        await _moved_out_tenant(api)
        await api.call("POST", "/api/tenants/t1/move-out", MOVE_OUT, expect=200)
        before = await asyncio.to_thread(_retained, mosquitto)
        assert json.loads(before[STATE_T1])["balance"] == "2.00"
        await api.call("POST", "/api/tenants/t1/archive", ARCHIVE, expect=200)
        after = await asyncio.to_thread(_retained, mosquitto)
    await service.stop()
    assert STATE_T1 not in after
    assert json.loads(after[STATE_T2])["tenant_id"] == "t2"

    # A restart republishes the live tenants only.
    restarted = LedgerService(config, clock=clock)
    await restarted.start()
    try:
        with MqttProbe(mosquitto) as probe:
            await asyncio.to_thread(probe.wait_for, STATUS_TOPIC, lambda p: p == b"online")
        again = await asyncio.to_thread(_retained, mosquitto)
    finally:
        await restarted.stop()
    assert STATE_T1 not in again
    assert STATE_T2 in again
