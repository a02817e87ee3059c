"""Implausible readings are quarantined, never stored or billed; a landlord may release one."""

from typing import Any

from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC; the ledger's clock is at 2026-11-10 12:00
GIANT = 215_999_102_110_901  # seen in the field: 10^14 Wh stamped between two real readings


def _readings(*pairs: tuple[int, int], point: str = POINT) -> dict[str, Any]:
    return {"readings": [{"point": point, "ts": ts, "energy_wh": wh} for ts, wh in pairs]}


async def _post(api: Api, *pairs: tuple[int, int], point: str = POINT) -> dict[str, Any]:
    result: dict[str, Any] = await api.call(
        "POST", "/api/readings", _readings(*pairs, point=point), expect=200
    )
    return result


async def _stored(api: Api, point: str = POINT) -> list[tuple[int, int]]:
    answer = await api.call("GET", f"/api/readings?point={point}", expect=200)
    return [(r["ts"], r["energy_wh"]) for r in answer["readings"]]


async def _quarantine(api: Api, query: str = "") -> list[dict[str, Any]]:
    answer = await api.call("GET", f"/api/readings/quarantine{query}", expect=200)
    items: list[dict[str, Any]] = answer["quarantined"]
    return items


async def test_a_giant_register_jump_is_quarantined_not_billed(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": POINT})
    await _post(api, (NOV_5, 1_000_000), (NOV_5 + 1800, 1_002_000))

    # Between the two stored readings (arrived late): checked against both neighbours.
    result = await _post(api, (NOV_5 + 905, GIANT))
    assert result == {"stored": 0, "duplicates": 0, "conflicts": 0, "quarantined": 1}
    again = await _post(api, (NOV_5 + 905, GIANT))
    assert again["quarantined"] == 1

    assert await _stored(api) == [(NOV_5, 1_000_000), (NOV_5 + 1800, 1_002_000)]
    tenant = await api.call("GET", "/api/tenants/t1")
    assert (tenant["period_energy_kwh"], tenant["balance"]) == ("2.000", "-0.60")
    (item,) = await _quarantine(api)  # once, however often it arrives
    assert {k: item[k] for k in ("point", "ts", "energy_wh", "reason", "released_at")} == {
        "point": POINT,
        "ts": NOV_5 + 905,
        "energy_wh": GIANT,
        "reason": "above_max_power",
        "released_at": None,
    }
    assert item["detail"] == (
        f"{GIANT - 1_000_000} Wh in 905 s (from {NOV_5} to {NOV_5 + 905}) is an average of "
        f"{(GIANT - 1_000_000) * 3600 // 905} W, above the point's maximum of 100000 W"
    )
    assert item["received_at"] == "2026-11-10T12:00:00+00:00"
    assert ledger.counters["readings_quarantined"] == 2
    assert ledger.counters["quarantined_above_max_power"] == 2
    stats = await api.call("GET", "/api/stats")
    assert stats["counters"]["readings_quarantined"] == 2

    # A plausible late reading in the same gap is stored as before.
    assert (await _post(api, (NOV_5 + 900, 1_001_000)))["stored"] == 1


async def test_the_batch_checks_each_reading_against_those_accepted_before_it(
    api: Api,
) -> None:
    await api.building(tenants={"t1": POINT})
    result = await _post(api, (NOV_5, 0), (NOV_5 + 60, 10**12), (NOV_5 + 120, 100))
    assert (result["stored"], result["quarantined"]) == (2, 1)
    assert await _stored(api) == [(NOV_5, 0), (NOV_5 + 120, 100)]
    assert (await api.call("GET", "/api/tenants/t1"))["period_energy_kwh"] == "0.100"


async def test_readings_from_the_future_or_before_2000_are_quarantined(
    api: Api, clock: FakeClock, caplog: Any
) -> None:
    await api.building(tenants={"t1": POINT})
    now = clock.epoch
    result = await _post(
        api, (946_684_799, 0), (946_684_800, 0), (now + 86_400, 10), (now + 86_401, 11)
    )
    assert (result["stored"], result["quarantined"]) == (2, 2)
    assert await _stored(api) == [(946_684_800, 0), (now + 86_400, 10)]
    reasons = [(item["ts"], item["reason"]) for item in await _quarantine(api)]
    assert sorted(reasons) == [(946_684_799, "before_2000"), (now + 86_401, "future")]
    # Logged once per point and reason, however many arrive.
    await _post(api, (now + 90_000, 12), (now + 90_001, 13))
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("quarantined an")]
    assert len(logged) == 2
    assert logged[0].startswith(f"quarantined an implausible reading of {POINT} at 946684799")
    assert len(await _quarantine(api, f"?point={POINT}&limit=3")) == 3
    assert await _quarantine(api, "?point=mqtt:other:1") == []


async def test_a_register_decrease_is_a_reset_not_quarantined(api: Api) -> None:
    await api.building(tenants={"t1": POINT})
    result = await _post(api, (NOV_5, 1_000_000), (NOV_5 + 600, 500))
    assert (result["stored"], result["quarantined"]) == (2, 0)
    assert (await api.call("GET", "/api/tenants/t1"))["period_energy_kwh"] == "0.500"


async def test_the_maximum_power_is_per_point_and_exact(api: Api) -> None:
    await api.building(tenants={"t1": POINT})
    small = "mqtt:a4cf12ab34cd:2"
    body = {"id": small, "name": "Lamp", "max_power_w": 1000}
    await api.call("POST", "/api/points", body, expect=201)
    points = {p["id"]: p for p in (await api.call("GET", "/api/points"))["points"]}
    assert (points[POINT]["max_power_w"], points[small]["max_power_w"]) == (100_000, 1000)

    # 1001 Wh in an hour is 1 kW plus the one-step slack; 1002 Wh is over it.
    ok = await _post(api, (NOV_5, 0), (NOV_5 + 3600, 1001), point=small)
    over = await _post(api, (NOV_5 + 7200, 2003), point=small)
    assert (ok["stored"], over["quarantined"]) == (2, 1)
    # Out of order: checked against the next stored reading too (0 -> 1001 Wh in 1800 s).
    late = await _post(api, (NOV_5 + 1800, 0), point=small)
    assert late["quarantined"] == 1
    reasons = [(i["ts"], i["reason"]) for i in await _quarantine(api, f"?point={small}")]
    assert reasons == [(NOV_5 + 1800, "above_max_power"), (NOV_5 + 7200, "above_max_power")]

    change = {"max_power_w": 2000, "reason": "a heater"}
    changed = await api.call("PUT", f"/api/points/{small}/use", change, expect=200)
    assert (changed["kind"], changed["max_power_w"]) == ("tenant", 2000)
    assert (await _post(api, (NOV_5 + 10_800, 3004), point=small))["stored"] == 1
    refused = {"max_power_w": 0, "reason": "x"}
    await api.call("PUT", f"/api/points/{small}/use", refused, expect=400)
    await api.call("PUT", f"/api/points/{small}/use", {"reason": "nothing"}, expect=400)


async def test_a_landlord_releases_a_quarantined_reading_and_it_is_billed(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": POINT})
    await api.call(
        "PUT", f"/api/points/{POINT}/use", {"max_power_w": 1000, "reason": "lamp"}, expect=200
    )
    await _post(api, (NOV_5, 0), (NOV_5 + 3600, 1000))
    await _post(api, (NOV_5 + 7200, 5000))
    (item,) = await _quarantine(api)
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-0.30"

    operator = await api.call(
        "POST", "/api/tokens", {"name": "desk", "role": "operator"}, expect=201
    )
    path = f"/api/readings/quarantine/{item['id']}/release"
    body = {"reason": "the heater was on, checked the meter", "actor": "ana"}
    await api.call("POST", path, body, token=operator["token"], expect=403)
    await api.call("POST", path, {"actor": "ana"}, expect=400)  # a reason is required
    released = await api.call("POST", path, body, expect=200)
    assert (released["stored"], released["released_by"]) == (1, "ana")
    assert released["released_at"] == "2026-11-10T12:00:00+00:00"
    assert released["release_reason"] == body["reason"]
    assert await _stored(api) == [(NOV_5, 0), (NOV_5 + 3600, 1000), (NOV_5 + 7200, 5000)]
    tenant = await api.call("GET", "/api/tenants/t1")
    assert (tenant["period_energy_kwh"], tenant["balance"]) == ("5.000", "-1.50")
    assert ledger.states["t1"]["balance"] == "-1.50"

    conflict = await api.call("POST", path, body, expect=409)
    assert conflict["error"]["message"] == f"quarantined reading {item['id']} was already released"
    await api.call("POST", "/api/readings/quarantine/999/release", body, expect=404)
    await api.call("POST", "/api/readings/quarantine/x/release", body, expect=404)
    (audit, *_rest) = (await api.call("GET", "/api/audit"))["audit"]
    assert (audit["action"], audit["actor"], audit["target"], audit["reason"]) == (
        "release_reading",
        "ana",
        POINT,
        body["reason"],
    )
    # The same reading again is now an ordinary duplicate.
    assert (await _post(api, (NOV_5 + 7200, 5000)))["duplicates"] == 1
