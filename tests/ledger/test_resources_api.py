"""Tariffs price one resource; a plan bills each resource with a tariff of that resource."""

from typing import Any

from .conftest import FLAT_TARIFF, Api

WATER_TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "2.10"},
}


async def _tariff(api: Api, tariff_id: str, resource: str | None, expect: int = 201) -> Any:
    body: dict[str, Any] = {
        "tariff": WATER_TARIFF if resource == "water" else FLAT_TARIFF,
        "effective_from": "2026-01-01T00:00:00+01:00",
        "reason": "setup",
    }
    if resource is not None:
        body["resource"] = resource
    return await api.call("POST", f"/api/tariffs/{tariff_id}/versions", body, expect=expect)


async def test_a_plan_bills_water_with_a_water_tariff_and_quota(api: Api) -> None:
    await _tariff(api, "std", None)
    await _tariff(api, "cold", "water")
    # A later version keeps the tariff's resource; naming another one is refused.
    await _tariff(api, "cold", "electricity", expect=409)
    body = {
        "id": "main",
        "name": "Main",
        "kind": "prepaid",
        "tariff": "std",
        "resources": {"water": {"tariff": "cold", "quota": "4.5", "quota_overage_rate": "3.0"}},
    }
    await api.call("POST", "/api/plans", body, expect=201)
    (plan,) = (await api.call("GET", "/api/plans"))["plans"]
    assert plan["resources"] == {
        "water": {"tariff_id": "cold", "quota": "4.5", "quota_overage_rate": "3.0"}
    }
    versions = (await api.call("GET", "/api/tariffs"))["versions"]
    assert {(v["tariff_id"], v["resource"]) for v in versions} == {
        ("std", "electricity"),
        ("cold", "water"),
    }


async def test_a_tariff_of_another_resource_is_refused_in_a_plan_slot(api: Api) -> None:
    await _tariff(api, "std", None)
    await _tariff(api, "cold", "water")
    wrong: list[tuple[dict[str, Any], str]] = [
        ({"tariff": "cold"}, "tariff cold prices water, not electricity"),
        ({"tariff": "std", "resources": {"gas": {"tariff": "cold"}}}, "prices water, not gas"),
        (
            {"tariff": "std", "resources": {"water": {"tariff": "std"}}},
            "prices electricity, not water",
        ),
    ]
    for fields, message in wrong:
        body: dict[str, Any] = {"id": "p", "name": "P", "kind": "prepaid"} | fields
        error = (await api.call("POST", "/api/plans", body, expect=400))["error"]
        assert message in error["message"]
    # Electricity stays in "tariff": it is not a slot of "resources".
    body = {"id": "p", "name": "P", "kind": "prepaid", "tariff": "std"}
    body["resources"] = {"electricity": {"tariff": "std"}}
    await api.call("POST", "/api/plans", body, expect=400)
    assert (await api.call("GET", "/api/plans"))["plans"] == []


async def test_a_common_water_point_is_priced_with_a_water_tariff(api: Api) -> None:
    await _tariff(api, "std", None)
    await _tariff(api, "cold", "water")
    point = {"id": "ha:pump", "name": "Garden", "resource": "water", "kind": "common"}
    wrong = point | {"allocation": "equal", "tariff": "std"}
    error = (await api.call("POST", "/api/points", wrong, expect=400))["error"]
    assert "tariff std prices electricity, not water" in error["message"]
    await api.call(
        "POST", "/api/points", point | {"allocation": "equal", "tariff": "cold"}, expect=201
    )
