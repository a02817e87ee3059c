"""REST API: auth, roles, clear 4xx errors for bad input, money as decimal strings, OpenAPI."""

from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest

from tenant_ledger.api.routes import ROUTES
from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.service import ADMIN_TOKEN_FILE, LedgerService

from .conftest import Api, FakeClock


async def test_health_needs_no_token_and_everything_else_does(api: Api) -> None:
    reply = await api.client.get("/api/health")
    assert reply.status == 200
    assert (await reply.json())["status"] == "ok"
    reply = await api.client.get("/api/tenants")
    assert reply.status == 401
    body = await reply.json()
    assert body["error"]["code"] == "unauthorized"
    assert (await api.call("GET", "/api/tenants", token="wrong"))["error"]["code"] == "unauthorized"


async def test_openapi_document_lists_every_route(api: Api) -> None:
    reply = await api.client.get("/api/openapi.json")
    document = await reply.json()
    assert document["openapi"].startswith("3.")
    for route in ROUTES:
        assert route.method.lower() in document["paths"][route.path], route.path
    topup = document["paths"]["/api/tenants/{tenant_id}/topups"]["post"]
    reference = topup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][reference.rsplit("/", 1)[1]]
    assert schema["properties"]["amount"]["type"] == "string"


async def test_roles_limit_what_a_token_may_do(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    created = await api.call(
        "POST", "/api/tokens", {"name": "desk", "role": "read_only"}, expect=201
    )
    reader = created["token"]
    assert (await api.call("GET", "/api/tenants", token=reader))["tenants"][0]["tenant_id"] == "t1"
    refused = await api.call(
        "POST",
        "/api/tenants/t1/topups",
        {"amount": "5.00", "reason": "cash"},
        token=reader,
        expect=403,
    )
    assert refused["error"]["code"] == "forbidden"
    await api.call("DELETE", "/api/tokens/desk", expect=200)
    await api.call("GET", "/api/tenants", token=reader, expect=401)
    listed = await api.call("GET", "/api/tokens")
    assert all("token_hash" not in token for token in listed["tokens"])


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({"amount": 10.5, "reason": "cash"}, "invalid_amount", "amounts are decimal strings"),
        ({"amount": 10, "reason": "cash"}, "invalid_amount", "amounts are decimal strings"),
        ({"amount": "10.005", "reason": "cash"}, "invalid_amount", "more decimals than EUR"),
        ({"amount": "ten", "reason": "cash"}, "invalid_amount", "not a decimal number"),
        ({"amount": "-1.00", "reason": "cash"}, "invalid", "must be positive"),
        ({"amount": "1.00"}, "invalid", "reason is required"),
        ({"amount": "1.00", "reason": "cash", "colour": "red"}, "invalid", "unknown field"),
        ({"amount": "1.00", "reason": 7}, "invalid", "reason must be a non-empty string"),
        ([1, 2], "invalid", "must be a JSON object"),
    ],
)
async def test_bad_top_up_bodies_get_a_clear_400(
    api: Api, body: Any, code: str, fragment: str
) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    error = (await api.call("POST", "/api/tenants/t1/topups", body, expect=400))["error"]
    assert error["code"] == code
    assert fragment in error["message"]


async def test_malformed_json_and_unknown_ids(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    reply = await api.client.post(
        "/api/tenants/t1/topups",
        data=b"{not json",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    assert reply.status == 400
    assert (await reply.json())["error"]["code"] == "invalid_json"
    missing = await api.call(
        "POST", "/api/tenants/t999/topups", {"amount": "1.00", "reason": "x"}, expect=404
    )
    assert missing["error"] == {"code": "not_found", "message": "tenant t999 does not exist"}
    assert (await api.call("GET", "/api/nowhere", expect=404))["error"]["code"] == "not_found"
    assert (await api.call("PATCH", "/api/tenants", expect=405))["error"][
        "code"
    ] == "method_not_allowed"
    plan = await api.call(
        "POST", "/api/tenants", {"id": "t2", "name": "x", "plan": "nope"}, expect=404
    )
    assert plan["error"]["message"] == "plan nope does not exist"
    await api.call("POST", "/api/tenants", {"id": "t1", "name": "x", "plan": "main"}, expect=409)
    bad_time = await api.call("POST", "/api/tenants/t1/move-out", {"at": "yesterday"}, expect=400)
    assert "ISO 8601" in bad_time["error"]["message"]


async def test_bad_tariff_names_the_field(api: Api) -> None:
    tariff = {
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "energy": {"type": "flat", "rate": "-1"},
    }
    body = {"tariff": tariff, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "x"}
    error = (await api.call("POST", "/api/tariffs/std/versions", body, expect=400))["error"]
    assert error["code"] == "invalid_tariff"
    assert "energy.rate" in error["message"]


async def test_top_up_adjustment_and_audit_trail(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    topped = await api.call(
        "POST",
        "/api/tenants/t1/topups",
        {"amount": "10.00", "reason": "cash at desk", "actor": "ana"},
        expect=201,
    )
    assert topped["balance"] == "10.00"
    adjusted = await api.call(
        "POST",
        "/api/tenants/t1/adjustments",
        {"amount": "-2.50", "reason": "key deposit"},
        expect=201,
    )
    assert adjusted["balance"] == "7.50"
    assert adjusted["entry_id"] == topped["entry_id"] + 1
    journal = await api.call("GET", "/api/tenants/t1/journal")
    assert [e["amount"] for e in journal["entries"]] == ["-2.50", "10.00"]
    audit = (await api.call("GET", "/api/audit"))["audit"]
    topup = next(row for row in audit if row["action"] == "top_up")
    assert (topup["actor"], topup["reason"]) == ("ana", "cash at desk")
    adjustment = next(row for row in audit if row["action"] == "adjustment")
    assert adjustment["actor"].startswith("admin")


async def test_a_retried_top_up_with_the_same_ref_posts_once(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    body = {"amount": "5.00", "reason": "transfer", "ref": "bank-42"}
    first = await api.call("POST", "/api/tenants/t1/topups", body, expect=201)
    again = await api.call("POST", "/api/tenants/t1/topups", body, expect=409)
    # The retry names the entry it already made, so a client can treat it as its answer.
    assert again["error"]["code"] == "already_posted"
    assert again["error"]["entry_id"] == first["entry_id"]
    adjustment = {"amount": "-1.00", "reason": "fee", "ref": "bank-42"}
    await api.call("POST", "/api/tenants/t1/adjustments", adjustment, expect=409)
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "5.00"


async def test_the_audit_log_records_the_token_beside_the_actor_it_names(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    desk = await api.call("POST", "/api/tokens", {"name": "desk", "role": "operator"}, expect=201)
    body = {"amount": "5.00", "reason": "cash", "actor": "landlord"}
    await api.call("POST", "/api/tenants/t1/topups", body, token=desk["token"], expect=201)
    row = (await api.call("GET", "/api/audit"))["audit"][0]
    assert (row["action"], row["actor"], row["principal"]) == ("top_up", "landlord", "token:desk")


async def test_tenant_state_has_the_contract_fields(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    state = await api.call("GET", "/api/tenants/t1")
    assert set(state) == {
        "tenant_id", "name", "currency", "balance", "status", "status_reason", "status_since",
        "plan", "period_start", "period_energy_kwh", "period_cost", "quota_kwh",
        "quota_remaining_kwh", "points", "resources", "cutoff_approved", "cutoff_awaiting_approval",
        "supply", "supply_action", "cutoff_guard_count", "cutoff_guard_limit", "ha_user_ids",
        "updated_at",
    }  # fmt: skip
    assert state["supply"] is None  # never reported: unknown, so never cut
    assert state["supply_action"] == "none"
    assert state["ha_user_ids"] == []
    assert state["period_start"] == "2026-11-01T00:00:00+01:00"
    assert state["points"] == ["mqtt:dev:1"]
    assert state["resources"] == {
        "electricity": {
            "unit": "kWh", "billed": True, "period_usage": "0.000", "period_cost": "0.00",
            "quota": None, "quota_remaining": None, "quota_exhausted": None,
        }
    }  # fmt: skip
    assert state["status"] == "low"  # 0.00 is below the default 5.00 threshold


async def test_first_start_creates_an_admin_token_in_a_private_file(
    make_config: Callable[..., LedgerConfig], clock: FakeClock, socket_enabled: None
) -> None:
    config = make_config(admin_token=None)
    service = LedgerService(config, clock=clock)
    await service.start()
    try:
        token_file = config.data_dir / ADMIN_TOKEN_FILE
        assert token_file.stat().st_mode & 0o777 == 0o600
        async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
            api = Api(client, token=token_file.read_text(encoding="utf-8").strip())
            assert (await api.call("GET", "/api/tokens", expect=200))["tokens"][0][
                "role"
            ] == "admin"
    finally:
        await service.stop()


async def test_a_point_named_twice_in_a_move_in_is_held_once(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    await api.call("POST", "/api/points", {"id": "mqtt:dev:2", "name": "p2"}, expect=201)
    await api.call("POST", "/api/spaces", {"id": "s2", "name": "Room 2"}, expect=201)
    body = {"points": ["mqtt:dev:2", "mqtt:dev:2"], "at": "2026-11-05T00:00:00+01:00"}
    await api.call("POST", "/api/tenants/t1/move-in", body, expect=201)
    held = [
        row
        for row in (await api.call("GET", "/api/assignments"))["assignments"]
        if row["point_id"] == "mqtt:dev:2"
    ]
    assert len(held) == 1
    empty = await api.call("POST", "/api/tenants/t1/move-in", {"space": "s2"}, expect=409)
    assert empty["error"]["message"] == "space s2 has no metering points"
