"""Worked accounting scenarios, end to end through the API."""

import asyncio
from collections.abc import Callable
import json
import sqlite3

from aiohttp.test_utils import TestClient, TestServer
import sqlalchemy as sa

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db.engine import DATABASE_FILE
from tenant_ledger.db.schema import readings
from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC
DAY = 86_400


async def _read(api: Api, *pairs: tuple[int, int], point: str = POINT) -> None:
    body = {"readings": [{"point": point, "ts": ts, "energy_wh": wh} for ts, wh in pairs]}
    await api.call("POST", "/api/readings", body, expect=200)


async def test_tenant_moves_out_mid_month(api: Api) -> None:
    """The interval across the move-out is shared in proportion to time."""
    await api.building(tenants={"t1": POINT})
    await api.call("POST", "/api/tenants", {"id": "t2", "name": "Next", "plan": "main"}, expect=201)
    await _read(api, (NOV_5, 100_000))
    moved = "2026-11-06T01:00:00+01:00"  # NOV_5 + 1 day
    out = await api.call("POST", "/api/tenants/t1/move-out", {"at": moved, "reason": "lease ended"})
    assert out["points"] == []
    await api.call("POST", "/api/tenants/t2/move-in", {"points": [POINT], "at": moved}, expect=201)
    await _read(api, (NOV_5 + 2 * DAY, 104_800))
    first = await api.call("GET", "/api/tenants/t1")
    second = await api.call("GET", "/api/tenants/t2")
    assert (first["period_energy_kwh"], first["balance"]) == ("2.400", "-0.72")
    assert (second["period_energy_kwh"], second["balance"]) == ("2.400", "-0.72")
    assert second["points"] == [POINT]


async def test_moving_in_before_energy_already_rated_is_refused(api: Api) -> None:
    await api.building(tenants={"t1": POINT})
    await _read(api, (NOV_5, 0), (NOV_5 + DAY, 1000))
    await api.call("POST", "/api/tenants", {"id": "t2", "name": "Next", "plan": "main"}, expect=201)
    early = {"at": "2026-11-05T12:00:00+00:00", "reason": "backdated"}
    error = await api.call("POST", "/api/tenants/t1/move-out", early, expect=409)
    assert "adjustment" in error["error"]["message"]


async def test_an_exempt_tenant_in_arrears_is_never_due_for_cut_off(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await api.building(tenants={"t1": POINT}, plan={"grace_days": 0})
    exempt = {"exempt": True, "reason": "medical equipment", "until": None}
    state = await api.call("PUT", "/api/tenants/t1/exemption", exempt, expect=200)
    assert state["status"] == "exempt"
    await _read(api, (NOV_5, 0), (NOV_5 + 3600, 50_000))
    clock.advance(5 * DAY)
    await ledger.tick()
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["status"], state["balance"]) == ("exempt", "-15.00")
    assert "medical equipment" in state["status_reason"]
    await api.call("POST", "/api/tenants/t1/cutoff-approvals", {"reason": "x"}, expect=409)


async def test_a_hard_quota_runs_out(api: Api) -> None:
    await api.building(tenants={"t1": POINT}, plan={"quota_kwh": "5"})
    await api.call("POST", "/api/tenants/t1/topups", {"amount": "50.00", "reason": "x"}, expect=201)
    await _read(api, (NOV_5, 0), (NOV_5 + 3600, 3000))
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["quota_kwh"], state["quota_remaining_kwh"], state["status"]) == (
        "5.000",
        "2.000",
        "ok",
    )
    assert state["period_cost"] == "0.00"  # inside the allowance
    await _read(api, (NOV_5 + 7200, 6000))
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["quota_remaining_kwh"], state["status"]) == ("0.000", "quota_exhausted")
    assert state["period_cost"] == "0.30"  # the 1 kWh beyond, at the tariff


async def test_a_ledger_whose_journal_was_tampered_with_starts_read_only(
    make_config: Callable[..., LedgerConfig], clock: FakeClock, socket_enabled: None
) -> None:
    config = make_config()
    first = LedgerService(config, clock=clock)
    await first.start()
    async with TestClient(TestServer(create_app(first, check_answers=True))) as client:
        api = Api(client)
        await api.building(tenants={"t1": POINT})
        await api.call("POST", "/api/tenants/t1/topups", {"amount": "10.00", "reason": "x"})
    await first.stop()
    database = sqlite3.connect(config.data_dir / DATABASE_FILE)
    database.execute("DROP TRIGGER journal_legs_no_update")
    database.execute("UPDATE journal_legs SET amount_minor = 100000 WHERE amount_minor = 1000")
    database.commit()
    database.close()

    second = LedgerService(config, clock=clock)
    await second.start()
    try:
        async with TestClient(TestServer(create_app(second, check_answers=True))) as client:
            api = Api(client)
            stats = await api.call("GET", "/api/stats")
            assert stats["read_only"] is True
            assert stats["integrity_errors"] == [
                "entry 1: hash_mismatch: content does not match its hash (the entry was changed)",
                "entry 1: unbalanced: 2 legs summing to 99000 minor units",
                "database: trigger: trigger journal_legs_no_update on journal_legs is missing",
            ]
            assert (await api.call("GET", "/api/tenants/t1"))["tenant_id"] == "t1"
            refused = await api.call(
                "POST", "/api/tenants/t1/topups", {"amount": "1.00", "reason": "x"}, expect=503
            )
            assert refused["error"]["code"] == "read_only"
            body = {"readings": [{"point": POINT, "ts": NOV_5, "energy_wh": 1}]}
            await api.call("POST", "/api/readings", body, expect=503)
            # Over MQTT: left unacknowledged (the broker delivers it again after the repair).
            acks: list[bool] = []
            second._from_mqtt(json.dumps(body).encode(), lambda: acks.append(True))
            await asyncio.sleep(0.2)
            assert acks == []
            assert await second.read(_stored_readings) == 0
    finally:
        await second.stop()


def _stored_readings(connection: sa.Connection, _catalog: object) -> int:
    return connection.execute(sa.select(sa.func.count()).select_from(readings)).scalar_one()


async def test_a_tampered_ledger_suspends_cut_offs(
    make_config: Callable[..., LedgerConfig], clock: FakeClock, socket_enabled: None
) -> None:
    """A tenant due for cut-off before the tamper is shown in arrears, never disconnect_due."""
    config = make_config()
    first = LedgerService(config, clock=clock)
    await first.start()
    async with TestClient(TestServer(create_app(first, check_answers=True))) as client:
        api = Api(client)
        await api.building(tenants={"t1": POINT}, plan={"grace_days": 1})
        # Home Assistant reported the supply on: without it the ledger never decides a cut-off.
        await api.call("POST", "/api/tenants/t1/supply", {"supply": "on", "reason": "seen"})
        await _read(api, (NOV_5, 0), (NOV_5 + 3600, 10_000))
        clock.advance(2 * DAY)
        await first.tick()
        assert (await api.call("GET", "/api/tenants/t1"))["status"] == "disconnect_due"
        await api.call("POST", "/api/tenants/t1/topups", {"amount": "1.00", "reason": "x"})
    await first.stop()
    database = sqlite3.connect(config.data_dir / DATABASE_FILE)
    database.execute("DROP TRIGGER journal_legs_no_update")
    database.execute("UPDATE journal_legs SET amount_minor = -99 WHERE amount_minor = -100")
    database.commit()
    database.close()

    second = LedgerService(config, clock=clock)
    await second.start()
    try:
        assert second.read_only
        state = second.states["t1"]
        assert (state["status"], state["status_reason"]) == (
            "arrears",
            "ledger integrity check failed; cut-offs suspended",
        )
    finally:
        await second.stop()


async def test_arrears_at_the_end_of_a_month_are_cut_off_after_grace_in_the_next(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """The month's statement is issued during the grace period; the debt stays due."""
    await api.building(tenants={"t1": POINT}, plan={"grace_days": 1})
    # Home Assistant reported the supply on: without it the ledger never decides a cut-off.
    await api.call("POST", "/api/tenants/t1/supply", {"supply": "on", "reason": "seen"})
    nov_30_late = NOV_5 + 25 * DAY + 22 * 3600  # 2026-11-30 23:00 Berlin
    clock.now_us = (nov_30_late + 1800) * 1_000_000
    await _read(api, (nov_30_late - 3600, 0), (nov_30_late, 10_000))  # 10 kWh = 3.00
    assert (await api.call("GET", "/api/tenants/t1"))["status"] == "arrears"

    clock.advance(DAY + 3600)  # 2 December, 00:30: grace over, November's statement due
    await ledger.tick()
    await api.call("POST", "/api/statements/run", expect=200)
    await ledger.tick()
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["balance"], state["status"]) == ("-3.00", "disconnect_due")
