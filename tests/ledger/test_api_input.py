"""No input makes the API fail with a 500: every bad request is a 4xx with a JSON error.

Run on SQLite and on PostgreSQL, because PostgreSQL also refuses over-long strings and
out-of-range integers that SQLite would store.
"""

from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

LONG = "x" * 5000
HUGE = 10**30
PLAN = {"id": "p2", "name": "n", "kind": "prepaid", "tariff": "std"}
VERSION = {"effective_from": "2026-01-01T00:00:00+00:00", "reason": "x"}
NASTY: list[tuple[str, str, Any]] = [
    ("POST", "/api/tenants", {"id": LONG, "name": "n", "plan": "main"}),
    ("POST", "/api/tenants", {"id": "t9", "name": LONG, "plan": "main"}),
    ("POST", "/api/tenants", {"id": 5, "name": "n", "plan": "main"}),
    ("POST", "/api/tenants", {"id": "t9", "name": "n", "plan": None}),
    ("POST", "/api/tenants/t1/topups", {"amount": "1e30", "reason": "x"}),
    ("POST", "/api/tenants/t1/topups", {"amount": "NaN", "reason": "x"}),
    ("POST", "/api/tenants/t1/topups", {"amount": "Infinity", "reason": "x"}),
    ("POST", "/api/tenants/t1/topups", {"amount": "1.00", "reason": "x", "ref": LONG}),
    ("POST", "/api/tenants/t1/adjustments", {"amount": "0", "reason": "x"}),
    ("POST", "/api/tenants/t1/adjustments", {"amount": True, "reason": "x"}),
    ("PUT", "/api/tenants/t1/exemption", {"exempt": "yes", "reason": "x"}),
    ("PUT", "/api/tenants/t1/exemption", {"exempt": True, "reason": "x", "until": "soon"}),
    ("POST", "/api/tenants/t1/move-in", {"points": ["nope"]}),
    ("POST", "/api/tenants/t1/move-in", {"points": "mqtt:dev:1"}),
    ("POST", "/api/tenants/t1/move-in", {"space": "nowhere"}),
    ("POST", "/api/tenants/t1/move-in", {}),
    ("POST", "/api/tenants/t1/move-out", {"at": "2020-01-01T00:00:00+00:00"}),
    ("POST", "/api/plans", PLAN | {"kind": "weekly"}),
    ("POST", "/api/plans", PLAN | {"due_days": HUGE}),
    ("POST", "/api/plans", PLAN | {"billing_day": 31}),
    ("POST", "/api/plans", PLAN | {"quota_kwh": "9" * 40}),
    ("POST", "/api/plans", PLAN | {"quota_kwh": "0.0001"}),
    ("POST", "/api/plans", PLAN | {"credit_limit": "-5.00"}),
    ("POST", f"/api/tariffs/{LONG}/versions", {"tariff": {}} | VERSION),
    ("POST", "/api/tariffs/std/versions", {"tariff": []} | VERSION),
    ("POST", "/api/tariffs/std/versions", {"tariff": {"currency": "USD"}} | VERSION),
    ("POST", "/api/spaces", {"id": "s1", "name": "n", "area_m2": 12.5}),
    ("POST", "/api/points", {"id": "p" * 300, "name": "n"}),
    ("POST", "/api/points", {"id": "x", "name": "n", "space": "nowhere"}),
    ("POST", "/api/readings", {"readings": [{"point": "p", "ts": HUGE, "energy_wh": 1}]}),
    ("POST", "/api/readings", {"readings": [{"point": "p", "ts": 1, "energy_wh": HUGE}]}),
    ("POST", "/api/readings", {"readings": [{"point": "p", "ts": 1, "energy_wh": 1, "seq": -1}]}),
    ("POST", "/api/readings", {"readings": "all of them"}),
    ("GET", "/api/readings?point=x&limit=-5", None),
    ("GET", f"/api/readings?point=x&since={HUGE}", None),
    ("GET", "/api/readings", None),
    ("GET", f"/api/statements/{HUGE}", None),
    ("GET", "/api/statements/abc", None),
    ("GET", "/api/tenants/t1/journal?limit=many", None),
    ("POST", "/api/tokens", {"name": "x", "role": "god"}),
    ("DELETE", "/api/tokens/nobody", None),
    ("POST", "/api/tenants/t1/cutoff-approvals", {"reason": "x"}),
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_api(
    request: pytest.FixtureRequest,
    make_config: Callable[..., LedgerConfig],
    clock: FakeClock,
    socket_enabled: None,
) -> AsyncIterator[Api]:
    overrides = {}
    if request.param == "postgresql":
        overrides["database_url"] = request.getfixturevalue("postgres_url")
    service = LedgerService(make_config(**overrides), clock=clock)
    await service.start()
    async with TestClient(TestServer(create_app(service))) as client:
        api = Api(client)
        await api.building(tenants={"t1": "mqtt:dev:1"})
        yield api
    await service.stop()


async def test_no_bad_request_is_answered_with_a_server_error(any_api: Api) -> None:
    answers = []
    for method, path, body in NASTY:
        reply = await any_api.client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {any_api.token}"}
        )
        data = await reply.json()
        answers.append((method, path[:60], reply.status, data.get("error", {}).get("code")))
    wrong = [answer for answer in answers if not 400 <= answer[2] < 500 or answer[3] is None]
    assert wrong == []
