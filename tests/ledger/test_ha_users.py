"""Home Assistant user links over the API and in the published tenant state."""

from typing import Any

from tenant_ledger.service import LedgerService

from .conftest import Api

ALICE = "8f2c9a1e4b7d4c0e9a6f3b2d1c0e9f8a"
BOB = "1b2c3d4e5f60718293a4b5c6d7e8f901"


async def _delete(api: Api, path: str, body: Any = None, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token or api.token}"}
    reply = await api.client.delete(path, json=body, headers=headers)
    return reply.status


async def test_a_linked_user_is_listed_published_and_audited(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1", "t2": "mqtt:dev:2"})
    assert ledger.states["t1"]["ha_user_ids"] == []

    body = {"user_id": BOB, "label": "Bob", "actor": "ana"}
    linked = await api.call("POST", "/api/tenants/t1/ha-users", body, expect=201)
    assert (linked["tenant_id"], linked["user_id"]) == ("t1", BOB)
    await api.call("POST", "/api/tenants/t1/ha-users", {"user_id": ALICE}, expect=201)

    listed = await api.call("GET", "/api/tenants/t1/ha-users", expect=200)
    assert [(u["user_id"], u["label"]) for u in listed["ha_users"]] == [
        (BOB, "Bob"),
        (ALICE, ALICE),
    ]
    assert listed["ha_users"][0]["linked_at"] == "2026-11-10T12:00:00+00:00"
    # The published state carries the ids sorted; the other tenant has none.
    assert ledger.states["t1"]["ha_user_ids"] == sorted([ALICE, BOB])
    tenant = await api.call("GET", "/api/tenants/t1", expect=200)
    assert tenant["ha_user_ids"] == [BOB, ALICE]
    assert ledger.states["t2"]["ha_user_ids"] == []

    audit = (await api.call("GET", "/api/audit"))["audit"]
    assert (audit[1]["action"], audit[1]["actor"], audit[1]["target"]) == (
        "link_ha_user",
        "ana",
        "t1",
    )
    assert audit[1]["reason"] == f"HA user {BOB} is tenant t1"


async def test_a_user_linked_elsewhere_is_refused_and_unlinking_republishes(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1", "t2": "mqtt:dev:2"})
    await api.call("POST", "/api/tenants/t1/ha-users", {"user_id": ALICE}, expect=201)

    refused = await api.call("POST", "/api/tenants/t2/ha-users", {"user_id": ALICE}, expect=409)
    assert refused["error"]["message"] == (
        f"HA user {ALICE} is linked to tenant t1; unlink it there first"
    )
    # Linking the same user to the same tenant again just renames it.
    again = {"user_id": ALICE, "label": "Alice"}
    await api.call("POST", "/api/tenants/t1/ha-users", again, expect=201)
    listed = await api.call("GET", "/api/tenants/t1/ha-users")
    assert [u["label"] for u in listed["ha_users"]] == ["Alice"]

    unknown = await api.call("POST", "/api/tenants/t9/ha-users", {"user_id": BOB}, expect=404)
    assert unknown["error"]["code"] == "not_found"
    assert await _delete(api, f"/api/tenants/t2/ha-users/{ALICE}") == 404
    assert await _delete(api, f"/api/tenants/t1/ha-users/{ALICE}", {"actor": "ana"}) == 204
    assert ledger.states["t1"]["ha_user_ids"] == []
    await api.call("POST", "/api/tenants/t2/ha-users", {"user_id": ALICE}, expect=201)
    assert ledger.states["t2"]["ha_user_ids"] == [ALICE]
    actions = [(a["action"], a["target"]) for a in (await api.call("GET", "/api/audit"))["audit"]]
    assert actions[:2] == [("link_ha_user", "t2"), ("unlink_ha_user", "t1")]


async def test_links_need_an_operator_token(api: Api) -> None:
    await api.building(tenants={"t1": "mqtt:dev:1"})
    created = await api.call(
        "POST", "/api/tokens", {"name": "viewer", "role": "read_only"}, expect=201
    )
    viewer = created["token"]
    body = {"user_id": ALICE}
    await api.call("POST", "/api/tenants/t1/ha-users", body, token=viewer, expect=403)
    await api.call("GET", "/api/tenants/t1/ha-users", token=viewer, expect=200)
    assert await _delete(api, f"/api/tenants/t1/ha-users/{ALICE}", token=viewer) == 403
    document = await (await api.client.get("/api/openapi.json")).json()
    assert set(document["paths"]["/api/tenants/{tenant_id}/ha-users"]) == {"get", "post"}
    removal = document["paths"]["/api/tenants/{tenant_id}/ha-users/{user_id}"]["delete"]
    assert "204" in removal["responses"]
