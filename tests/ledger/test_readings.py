"""Readings in through the API: stored and rated exactly once, bad input refused clearly."""

from typing import Any

from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC


def _readings(*pairs: tuple[int, int], point: str = POINT) -> dict[str, Any]:
    return {"readings": [{"point": point, "ts": ts, "energy_wh": wh} for ts, wh in pairs]}


async def test_register_deltas_are_rated_at_the_tariff(api: Api) -> None:
    await api.building(tenants={"t1": POINT})
    result = await api.call(
        "POST", "/api/readings", _readings((NOV_5, 10_000), (NOV_5 + 3600, 12_000)), expect=200
    )
    assert result == {"stored": 2, "duplicates": 0, "conflicts": 0, "quarantined": 0}
    state = await api.call("GET", "/api/tenants/t1")
    assert state["period_energy_kwh"] == "2.000"
    assert state["period_cost"] == "0.60"
    assert state["balance"] == "-0.60"


async def test_a_reading_received_twice_is_stored_and_rated_once(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": POINT})
    body = _readings((NOV_5, 10_000), (NOV_5 + 3600, 11_000))
    await api.call("POST", "/api/readings", body, expect=200)
    again = await api.call("POST", "/api/readings", body, expect=200)
    assert again == {"stored": 0, "duplicates": 2, "conflicts": 0, "quarantined": 0}
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-0.30"
    stored = await api.call("GET", f"/api/readings?point={POINT}")
    assert len(stored["readings"]) == 2


async def test_a_conflicting_repeat_is_counted_and_the_first_value_kept(
    api: Api, ledger: LedgerService
) -> None:
    await api.building(tenants={"t1": POINT})
    await api.call("POST", "/api/readings", _readings((NOV_5, 10_000)), expect=200)
    result = await api.call("POST", "/api/readings", _readings((NOV_5, 99_000)), expect=200)
    assert result["conflicts"] == 1
    assert ledger.counters["readings_conflicting"] == 1
    stored = await api.call("GET", f"/api/readings?point={POINT}")
    assert stored["readings"][0]["energy_wh"] == 10_000


async def test_the_landlord_sees_each_conflicting_value_once_and_the_first_stays_billed(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """A backlog resending a disagreeing register: listed once, money and statement unchanged."""
    await api.building(tenants={"t1": POINT})
    await api.call("POST", "/api/readings", _readings((NOV_5, 0), (NOV_5 + 3600, 10_000)))
    clock.advance(60)
    for _ in range(2):  # the same disagreeing backlog twice
        await api.call("POST", "/api/readings", _readings((NOV_5 + 3600, 12_000)))
    # Within one message, the first value is stored and the second is the conflict.
    await api.call(
        "POST", "/api/readings", _readings((NOV_5 + 7200, 15_000), (NOV_5 + 7200, 16_000))
    )
    listed = (await api.call("GET", "/api/readings/conflicts"))["conflicts"]
    assert [(c["point"], c["ts"], c["energy_wh"], c["kept_energy_wh"]) for c in listed] == [
        (POINT, NOV_5 + 7200, 16_000, 15_000),
        (POINT, NOV_5 + 3600, 12_000, 10_000),
    ]
    assert listed[1]["received_at"] == "2026-11-10T12:01:00+00:00"
    assert ledger.counters["readings_conflicting"] == 3
    # 15 kWh at 0.30 from the stored readings; the turned-away 12 and 16 kWh count for nothing.
    assert (await api.call("GET", "/api/tenants/t1"))["balance"] == "-4.50"
    other = await api.call("GET", "/api/readings/conflicts?point=mqtt:other:1")
    assert other == {"conflicts": []}


async def test_readings_of_an_unknown_point_wait_until_it_is_assigned(api: Api) -> None:
    await api.building(tenants={"t1": POINT})
    other = "modbus:gw1:3:1"
    await api.call(
        "POST", "/api/readings", _readings((NOV_5, 500), (NOV_5 + 60, 1500), point=other)
    )
    await api.call("POST", "/api/points", {"id": other, "name": "late"}, expect=201)
    await api.call(
        "POST",
        "/api/tenants/t1/move-in",
        {"points": [other], "at": "2026-11-01T00:00:00+01:00"},
        expect=201,
    )
    await api.call("POST", "/api/readings", _readings((NOV_5 + 120, 2000), point=other))
    state = await api.call("GET", "/api/tenants/t1")
    assert state["period_energy_kwh"] == "1.500"
    assert sorted(state["points"]) == sorted([POINT, other])


async def test_many_small_readings_post_the_exact_total_rounded_once(api: Api) -> None:
    """0.30 EUR/kWh x 7 Wh = 0.0021 EUR each: never a whole cent alone, yet nothing is lost."""
    await api.building(tenants={"t1": POINT})
    for step in range(1, 301):
        await api.call("POST", "/api/readings", _readings((NOV_5 + step * 60, step * 7)))
    state = await api.call("GET", "/api/tenants/t1")
    # first reading opens the register; 299 deltas of 7 Wh = 2093 Wh -> 0.6279 EUR -> 0.63
    assert state["period_energy_kwh"] == "2.093"
    assert state["period_cost"] == "0.63"
    assert state["balance"] == "-0.63"


async def test_malformed_readings_are_refused_with_the_field(api: Api) -> None:
    await api.building(tenants={"t1": POINT})
    cases = [
        ({"readings": [{"point": POINT, "ts": NOV_5, "energy_wh": 1.5}]}, "invalid_energy_wh"),
        ({"readings": [{"point": POINT, "ts": "now", "energy_wh": 1}]}, "invalid_ts"),
        ({"readings": [{"ts": NOV_5, "energy_wh": 1}]}, "invalid_point"),
        ({"reading": []}, "not_readings"),
        ({"readings": [{"point": POINT, "ts": NOV_5, "energy_wh": -5}]}, "invalid_energy_wh"),
    ]
    for body, code in cases:
        assert (await api.call("POST", "/api/readings", body, expect=400))["error"]["code"] == code
