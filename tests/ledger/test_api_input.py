"""No input makes the API fail with a 500: every bad request is a 4xx with a JSON error.

Run on SQLite and on PostgreSQL, because PostgreSQL also refuses over-long strings and
out-of-range integers that SQLite would store.
"""

import asyncio
from collections.abc import AsyncIterator, Callable
import json
from typing import Any
from urllib.parse import quote

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
    async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
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


# Bodies that answered 500 before (issue 13): each is now a 400 naming what is wrong.
RAW_BODIES: list[tuple[str, bytes, str]] = [
    ("/api/tenants/t1/topups", b"\xff\xfe not utf-8", "invalid_json"),
    ("/api/tenants/t1/topups", b'{"amount": "1.00", "reason": "caf\xe9"}', "invalid_json"),
    ("/api/tenants/t1/topups", b"[" * 200_000, "invalid_json"),
    ("/api/tenants/t1/topups", b'{"a":' * 5000 + b"1" + b"}" * 5000, "invalid_json"),
    ("/api/tenants/t1/topups", b'{"amount": 1e999999, "reason": "x"}', "invalid_json"),
    ("/api/tenants/t1/topups", b'{"amount": NaN, "reason": "x"}', "invalid_json"),
    ("/api/tenants/t1/topups", b'{"amount": "1.00", "reason": Infinity}', "invalid_json"),
    ("/api/tenants/t1/topups", b'{"amount": "1.00", "reason": "\\ud800"}', "invalid_json"),
    ("/api/tenants/t1/topups", b'{"amount": "1.00", "reason": "a\\u0000b"}', "invalid_json"),
    ("/api/tenants", b'{"id": "t\\udfff", "name": "n", "plan": "main"}', "invalid_json"),
    ("/api/tenants", b'{"id": "t9", "name": "' + b"9" * 5000 + b'", "plan": "main"}', "invalid"),
    ("/api/tenants", b'{"id": "t9", "name": "n", "plan": "main", "x": ' + b"9" * 5000 + b"}",
     "invalid_json"),
    ("/api/readings", b'{"readings": [{"point": "p\\ud800", "ts": 1, "energy_wh": 1}]}',
     "invalid_json"),
    ("/api/readings", b'{"readings": [{"point": "p", "ts": 1e999999, "energy_wh": 1}]}',
     "invalid_json"),
]  # fmt: skip

# Times far from now (an offset pushing 9999-12-31 past year 9999 in UTC, year 1): 400.
FAR_TIMES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z"]


async def test_bodies_that_answered_500_are_refused_with_400(any_api: Api) -> None:
    headers = {"Authorization": f"Bearer {any_api.token}", "Content-Type": "application/json"}
    answers = []
    for path, raw, code in RAW_BODIES:
        reply = await any_api.client.post(path, data=raw, headers=headers)
        answers.append((path, raw[:40], reply.status, (await reply.json())["error"]["code"], code))
    assert [answer for answer in answers if answer[2:4] != (400, answer[4])] == []
    assert (await any_api.call("GET", "/api/tenants/t1"))["balance"] == "0.00"


@pytest.mark.parametrize("instant", FAR_TIMES)
async def test_times_out_of_range_are_refused_and_change_nothing(
    any_api: Api, instant: str
) -> None:
    before = await any_api.call("GET", "/api/tenants/t1")
    exemption = {"exempt": True, "reason": "x", "until": instant}
    calls = [
        ("PUT", "/api/tenants/t1/exemption", exemption),
        ("POST", "/api/tenants/t1/move-out", {"at": instant}),
        ("POST", "/api/tariffs/std/versions", VERSION | {"tariff": {}, "effective_from": instant}),
        ("GET", f"/api/reports/losses?from=2026-11-01T00:00:00Z&to={quote(instant)}", None),
    ]
    for method, path, body in calls:
        error = (await any_api.call(method, path, body, expect=400))["error"]
        assert "ISO 8601 time with a UTC offset in the years 2000-2199" in error["message"]
    # The refused exemption left the tenant (and everyone's top-ups) as they were.
    await any_api.call(
        "POST", "/api/tenants/t1/topups", {"amount": "1.00", "reason": "x"}, expect=201
    )
    after = await any_api.call("GET", "/api/tenants/t1")
    assert (after["status"], after["balance"]) == (before["status"], "1.00")


@pytest.mark.parametrize(
    "query",
    ["point=x&limit=\uff11\uff10", "point=x&limit=1_000", "point=x&since=\u0663",
     "point=x&limit=null", "point=x&unknown=1", "point=%ff", "point=x&limit=" + "9" * 30,
     "point=x&limit=1&limit=2", "point=x&point=y"],
)  # fmt: skip
async def test_query_parameters_are_ascii_integers_and_known_names(api: Api, query: str) -> None:
    error = (await api.call("GET", f"/api/readings?{query}", expect=400))["error"]
    assert error["code"] == "invalid"


async def test_a_header_that_is_not_utf8_is_an_unknown_token(api: Api) -> None:
    """Raw bytes on the socket: clients refuse to send such a header themselves."""
    port = api.client.server.port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xc3(\r\n"
        b"Connection: close\r\n\r\n"
    )
    await writer.drain()
    answer = await reader.read()
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 401"), answer[:300]
    assert json.loads(body)["error"]["code"] == "unauthorized"


async def test_a_wrong_method_names_the_allowed_ones(api: Api) -> None:
    reply = await api.client.patch("/api/tenants", headers={"Authorization": f"Bearer {api.token}"})
    assert reply.status == 405
    assert set(reply.headers["Allow"].split(",")) == {"GET", "POST"}
    assert (await reply.json())["error"]["code"] == "method_not_allowed"


async def test_a_tariff_with_an_absurd_number_is_refused(api: Api) -> None:
    tariff = {"currency": "EUR", "timezone": "Europe/Berlin"}
    for rate in ("1e999999", "1E+400", "-1e-999999"):
        body = {"tariff": tariff | {"energy": {"type": "flat", "rate": rate}}} | VERSION
        error = (await api.call("POST", "/api/tariffs/std/versions", body, expect=400))["error"]
        assert error["code"] == "invalid_tariff"
