"""The same service on PostgreSQL: ingestion, rating, money and statements, unchanged code."""

from collections.abc import Callable

from aiohttp.test_utils import TestClient, TestServer

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db import journal_store
from tenant_ledger.journal import validate
from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800


async def test_the_ledger_runs_on_postgresql(
    postgres_url: str,
    make_config: Callable[..., LedgerConfig],
    clock: FakeClock,
    socket_enabled: None,
) -> None:
    service = LedgerService(make_config(database_url=postgres_url), clock=clock)
    await service.start()
    try:
        async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
            api = Api(client)
            await api.building(tenants={"t1": POINT})
            readings = {
                "readings": [
                    {"point": POINT, "ts": NOV_5 + step * 60, "energy_wh": step * 7}
                    for step in range(300)
                ]
            }
            first = await api.call("POST", "/api/readings", readings, expect=200)
            again = await api.call("POST", "/api/readings", readings, expect=200)
            assert (first["stored"], again["duplicates"]) == (300, 300)
            topup = {"amount": "10.00", "reason": "cash"}
            topped = await api.call("POST", "/api/tenants/t1/topups", topup, expect=201)
            assert topped["balance"] == "9.37"  # 2093 Wh x 0.30 = 0.6279 -> 0.63
            clock.now_us = 1_796_176_800_000_000  # 2026-12-02: November's statement is due
            issued = await api.call("POST", "/api/statements/run", expect=200)
            assert issued["issued_for"] == ["t1"]
        entries = await service.read(lambda c, _cat: journal_store.load_entries(c))
        assert service.key is not None
        assert validate(entries, service.key.journal_digest) == []
    finally:
        await service.stop()
