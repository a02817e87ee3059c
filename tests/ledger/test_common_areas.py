"""Common areas shared on statements, and incomer-vs-channels losses, through the API."""

from datetime import UTC, datetime
from typing import Any

from tenant_ledger.db import journal_store
from tenant_ledger.journal import COMMON_INCOME
from tenant_ledger.service import LedgerService

from .conftest import FLAT_TARIFF, Api, FakeClock

NOV_1 = int(datetime(2026, 10, 31, 23, tzinfo=UTC).timestamp())  # 00:00 in Berlin
DEC_1 = int(datetime(2026, 11, 30, 23, tzinfo=UTC).timestamp())
BUILDING_TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.25"},
    "tax_rate": "0.10",
}
SPACES = {"t1": "20", "t2": "30", "t3": "50"}  # m²
USED_WH = {"t1": 10_000, "t2": 8_000, "t3": 0}


async def _version(api: Api, tariff_id: str, tariff: dict[str, Any]) -> None:
    body = {"tariff": tariff, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "setup"}
    await api.call("POST", f"/api/tariffs/{tariff_id}/versions", body, expect=201)


async def _building_with_corridor(api: Api, clock: FakeClock) -> None:
    """Three rooms of 20, 30 and 50 m² (postpaid, 0.30/kWh) and a corridor at 0.25/kWh + 10 %.

    The readings arrive at the end of the month (the ledger quarantines readings from the future).
    """
    await _version(api, "std", FLAT_TARIFF)
    await _version(api, "building", BUILDING_TARIFF)
    plan = {"id": "main", "name": "Monthly", "kind": "postpaid", "tariff": "std"}
    await api.call("POST", "/api/plans", plan | {"billing_day": 1}, expect=201)
    for tenant_id, area in SPACES.items():
        space = f"room-{tenant_id}"
        await api.call(
            "POST", "/api/spaces", {"id": space, "name": space, "area_m2": area}, expect=201
        )
        point = {"id": f"p-{tenant_id}", "name": space, "space": space}
        await api.call("POST", "/api/points", point, expect=201)
        tenant = {"id": tenant_id, "name": space, "plan": "main"}
        await api.call("POST", "/api/tenants", tenant, expect=201)
        move_in = {"space": space, "at": "2026-11-01T00:00:00+01:00"}
        await api.call("POST", f"/api/tenants/{tenant_id}/move-in", move_in, expect=201)
    corridor = {"id": "corridor", "name": "Corridor lights", "kind": "common"}
    corridor |= {"allocation": "floor_area", "tariff": "building"}
    await api.call("POST", "/api/points", corridor, expect=201)
    await api.call("POST", "/api/points", {"id": "main", "name": "Incomer"}, expect=201)
    await api.call(
        "PUT", "/api/points/main/use", {"kind": "incomer", "reason": "supply meter"}, expect=200
    )
    readings = [
        {"point": point, "ts": ts, "energy_wh": wh}
        for point, used in [
            *((f"p-{tenant_id}", wh) for tenant_id, wh in USED_WH.items()),
            ("corridor", 12_040),
            ("main", 40_000),
        ]
        for ts, wh in ((NOV_1, 0), (DEC_1, used))
    ]
    clock.now_us = DEC_1 * 1_000_000
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)


async def test_common_corridor_split_by_floor_area(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """12.04 kWh x 0.25 = 3.01 net shared 20/30/50 m²: 0.60, 0.90, 1.51 (BILLING.md, 6)."""
    await _building_with_corridor(api, clock)
    clock.now_us = (DEC_1 + 6 * 3600) * 1_000_000
    await ledger.tick()

    totals, shares = {}, {}
    for tenant_id in SPACES:
        (listed,) = (await api.call("GET", f"/api/tenants/{tenant_id}/statements"))["statements"]
        document = await api.call("GET", f"/api/statements/{listed['id']}")
        (shared,) = [line for line in document["lines"] if line["kind"] == "shared"]
        shares[tenant_id] = (shared["label"], shared["quantity"], shared["amount"])
        totals[tenant_id] = (document["net"], document["tax"], document["total"])
    assert shares == {
        "t1": ("shared: Corridor lights (by floor area)", "2.408", "0.60"),
        "t2": ("shared: Corridor lights (by floor area)", "3.612", "0.90"),
        "t3": ("shared: Corridor lights (by floor area)", "6.020", "1.51"),
    }
    # Own energy at 0.30 untaxed, the share taxed at the building tariff's 10 %.
    assert totals == {
        "t1": ("3.60", "0.06", "3.66"),
        "t2": ("3.30", "0.09", "3.39"),
        "t3": ("1.51", "0.15", "1.66"),
    }

    def money(connection: Any, _catalog: Any) -> dict[str, int]:
        accounts = [f"tenant:{t}" for t in SPACES] + [COMMON_INCOME]
        return journal_store.balances(connection, accounts)

    assert await ledger.read(money) == {
        "tenant:t1": -366,
        "tenant:t2": -339,
        "tenant:t3": -166,
        COMMON_INCOME: 301,
    }
    journal = (await api.call("GET", "/api/tenants/t1/journal"))["entries"]
    assert [(e["kind"], e["amount"]) for e in journal] == [
        ("statement", "-0.06"),
        ("common_area", "-0.60"),
        ("energy", "-3.00"),
    ]
    csv = await api.client.get(
        f"/api/statements/{listed['id']}?format=csv", headers=api._headers(None)
    )
    assert "charge,shared: Corridor lights (by floor area),6.020,kWh,,1.51" in (
        await csv.text()
    ).replace("\r", "")

    # Idempotent: the run and the scheduler issue and post nothing twice.
    assert (await api.call("POST", "/api/statements/run"))["issued_for"] == []
    await ledger.tick()
    assert await ledger.read(money) == {
        "tenant:t1": -366,
        "tenant:t2": -339,
        "tenant:t3": -166,
        COMMON_INCOME: 301,
    }


async def test_losses_are_the_incomer_minus_every_other_point(api: Api, clock: FakeClock) -> None:
    await _building_with_corridor(api, clock)
    query = "from=2026-11-01T00:00:00%2B01:00&to=2026-12-01T00:00:00%2B01:00"
    report = await api.call("GET", f"/api/reports/losses?{query}", expect=200)
    # 40 kWh in; 10 + 8 + 0 kWh in the rooms and 12.04 kWh in the corridor.
    assert report == {
        "from": "2026-10-31T23:00:00+00:00",
        "to": "2026-11-30T23:00:00+00:00",
        "resource": "electricity",
        "incomers": ["main"],
        "incomer_kwh": "40.000",
        "channels_kwh": "30.040",
        "losses_kwh": "9.960",
        "loss_ratio": "0.2490",
    }
    half = "from=2026-11-01T00:00:00Z&to=2026-11-15T23:00:00Z"
    first_half = await api.call("GET", f"/api/reports/losses?{half}", expect=200)
    assert first_half["incomer_kwh"] == "19.944"  # time-proportional: 359 of the 720 hours
    bad = await api.call("GET", "/api/reports/losses?from=yesterday&to=today", expect=400)
    assert "from must be an ISO 8601 time" in bad["error"]["message"]


async def test_common_and_incomer_points_are_never_a_tenants(api: Api, clock: FakeClock) -> None:
    await _building_with_corridor(api, clock)
    move_in = {"points": ["corridor"], "at": "2026-11-20T00:00:00+01:00"}
    refused = await api.call("POST", "/api/tenants/t1/move-in", move_in, expect=409)
    assert refused["error"]["message"] == (
        "corridor is a common point; only tenant points can be moved into"
    )
    relabel = {"kind": "common", "allocation": "equal", "tariff": "building", "reason": "x"}
    refused = await api.call("PUT", "/api/points/p-t1/use", relabel, expect=409)
    assert "stays a tenant point" in refused["error"]["message"]
    no_method = {"id": "pump", "name": "Pump", "kind": "common", "tariff": "building"}
    refused = await api.call("POST", "/api/points", no_method, expect=400)
    assert refused["error"]["message"].startswith("a common point needs allocation")
    no_tariff = {"id": "pump", "name": "Pump", "kind": "common", "allocation": "equal"}
    await api.call("POST", "/api/points", no_tariff, expect=400)
    unknown = no_tariff | {"tariff": "nope"}
    await api.call("POST", "/api/points", unknown, expect=404)
    points = {p["id"]: p for p in (await api.call("GET", "/api/points"))["points"]}
    assert (points["corridor"]["kind"], points["corridor"]["allocation"]) == (
        "common",
        "floor_area",
    )
    assert (points["main"]["kind"], points["p-t1"]["kind"]) == ("incomer", "tenant")


async def test_a_split_by_floor_area_waits_for_a_missing_area(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """No statement without the share: it would never get it back. Issued once fixed."""
    await _building_with_corridor(api, clock)
    await api.call("POST", "/api/points", {"id": "p-t4", "name": "no space"}, expect=201)
    await api.call("POST", "/api/tenants", {"id": "t4", "name": "t4", "plan": "main"}, expect=201)
    move_in = {"points": ["p-t4"], "at": "2026-11-01T00:00:00+01:00"}
    await api.call("POST", "/api/tenants/t4/move-in", move_in, expect=201)
    clock.now_us = (DEC_1 + 6 * 3600) * 1_000_000
    assert (await api.call("POST", "/api/statements/run"))["issued_for"] == []
    equal = {"kind": "common", "allocation": "equal", "tariff": "building", "reason": "no areas"}
    await api.call("PUT", "/api/points/corridor/use", equal, expect=200)
    issued = (await api.call("POST", "/api/statements/run"))["issued_for"]
    assert sorted(issued) == ["t1", "t2", "t3", "t4"]
