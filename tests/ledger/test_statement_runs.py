"""Statement runs: a late top-up, one tenant's failure and a ledger that was down.

Worked scenarios: a tenant tops up after its first period ended but before the statement ran
(the run used to fail for everyone, for good); a statement that cannot be built for one
tenant (reported, the others issued); a ledger switched off for three billing days (every
missed statement issued on start, in order, each opening where the previous closed).
"""

from collections.abc import Callable
from datetime import UTC, datetime
import logging
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tenant_ledger import statement_run
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db import schema
from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC
DAY = 86_400
POINTS = {"t1": "mqtt:a4cf12ab34cd:1", "t2": "mqtt:a4cf12ab34cd:2"}


def _at(clock: FakeClock, year: int, month: int, day: int, hour: int = 0) -> None:
    clock.now_us = int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * 1_000_000


async def _two_tenants(api: Api) -> None:
    await api.building(tenants=POINTS)
    readings = [
        {"point": point, "ts": NOV_5 + offset, "energy_wh": wh}
        for point in POINTS.values()
        for offset, wh in ((0, 0), (DAY, 10_000))
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)


async def _statements(api: Api, tenant_id: str) -> list[dict[str, Any]]:
    listed = (await api.call("GET", f"/api/tenants/{tenant_id}/statements"))["statements"]
    documents = [await api.call("GET", f"/api/statements/{s['id']}") for s in listed]
    return sorted(documents, key=lambda d: str(d["period_start"]))


async def test_a_top_up_after_the_period_end_waits_for_the_next_statement(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """Moved in before the billing day, topped up before the first statement ran."""
    await _two_tenants(api)
    _at(clock, 2026, 12, 3)  # the ledger missed the billing day (1 December)
    top_up = {"amount": "20.00", "reason": "cash", "ref": "late-1"}
    await api.call("POST", "/api/tenants/t1/topups", top_up, expect=201)

    reply = await api.call("POST", "/api/statements/run", expect=200)
    assert reply == {"issued_for": ["t1", "t2"], "failed": []}
    (november,) = await _statements(api, "t1")
    assert november["credits"] == []  # 3 December is not in November
    assert (november["opening_balance"], november["total"]) == ("0.00", "3.00")
    assert november["closing_balance"] == "-3.00"

    _at(clock, 2027, 1, 1, 6)
    await ledger.tick()
    _november, december = await _statements(api, "t1")
    assert [(c["date"], c["amount"]) for c in december["credits"]] == [("2026-12-03", "20.00")]
    assert december["opening_balance"] == "-3.00"
    assert december["closing_balance"] == "17.00"
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "17.00"


async def test_one_tenant_that_cannot_be_billed_does_not_stop_the_others(
    api: Api,
    ledger: LedgerService,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _two_tenants(api)
    build = statement_run.build_period_document

    def broken_for_t1(*args: Any, **kwargs: Any) -> Any:
        if args[2] == "t1":
            raise RuntimeError("disk on fire")
        return build(*args, **kwargs)

    monkeypatch.setattr(statement_run, "build_period_document", broken_for_t1)
    _at(clock, 2026, 12, 1, 6)
    with caplog.at_level(logging.ERROR):
        await ledger.tick()
    assert "statement of t1 from 2026-11-01 not issued: disk on fire" in caplog.text
    assert await _statements(api, "t1") == []
    assert len(await _statements(api, "t2")) == 1
    health = await api.call("GET", "/api/health", expect=200)
    assert [
        (f["tenant_id"], f["period_start"], f["error"]) for f in health["statement_failures"]
    ] == [("t1", "2026-11-01", "disk on fire")]

    monkeypatch.setattr(statement_run, "build_period_document", build)
    reply = await api.call("POST", "/api/statements/run", expect=200)
    assert reply == {"issued_for": ["t1"], "failed": []}
    assert (await api.call("GET", "/api/health"))["statement_failures"] == []


async def test_every_period_missed_while_down_is_issued_on_start_in_order(
    make_config: Callable[..., LedgerConfig], clock: FakeClock, api: Api, ledger: LedgerService
) -> None:
    await _two_tenants(api)
    await api.call(
        "POST",
        "/api/tenants/t1/topups",
        {"amount": "50.00", "reason": "cash", "ref": "a"},
        expect=201,
    )
    await ledger.stop()

    _at(clock, 2027, 2, 2)  # down over 1 December, 1 January and 1 February
    restarted = LedgerService(make_config(), clock=clock)
    await restarted.start()
    try:
        statements = await restarted.read(
            lambda c, _cat: c.execute(
                schema.statements.select().order_by(schema.statements.c.id)
            ).all()
        )
    finally:
        await restarted.stop()
    t1 = [row for row in statements if row.tenant_id == "t1"]
    berlin = ZoneInfo("Europe/Berlin")
    starts = [datetime.fromtimestamp(row.period_start_us // 10**6, berlin) for row in t1]
    assert [day.date().isoformat() for day in starts] == ["2026-11-01", "2026-12-01", "2027-01-01"]
    # Each opens where the previous closed; the November top-up is on the first one.
    assert [row.opening_minor for row in t1] == [0, 4700, 4700]
    assert [row.closing_minor for row in t1] == [4700, 4700, 4700]
    assert len({row.number for row in statements}) == len(statements) == 6
