"""Shared costs by resource (issue 17), through the API: a common point is shared by the use of
its own resource or by water, and the loss report is electricity's alone.

Two rooms, each with an electricity circuit and a cold-water counter. t1 uses 10 kWh and
3,000 L, t2 30 kWh and 1,000 L: adding litres to Wh (13,000 against 31,000) would share every
common point 59 % / 141 % of a euro-cent split (0.59 / 1.41 of 2.00) whatever it measures.
"""

from datetime import UTC, datetime
from itertools import count
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from tenant_ledger.billing import AllocationMethod
from tenant_ledger.service import LedgerService

from .conftest import FLAT_TARIFF, Api, FakeClock

NOV_1 = int(datetime(2026, 10, 31, 23, tzinfo=UTC).timestamp())  # 00:00 in Berlin
DEC_1 = int(datetime(2026, 11, 30, 23, tzinfo=UTC).timestamp())
TAXED = {"currency": "EUR", "timezone": "Europe/Berlin", "tax_rate": "0.10"}
USED = {
    # point: (register key, use in November)
    "p-t1": ("energy_wh", 10_000),
    "p-t2": ("energy_wh", 30_000),
    "w-t1": ("volume_l", 3_000),
    "w-t2": ("volume_l", 1_000),
    "corridor": ("energy_wh", 8_000),
    "hot-water": ("energy_wh", 20_000),
    "tap": ("volume_l", 600),
    "main": ("energy_wh", 50_000),
    "water-main": ("volume_l", 4_500),
}


async def _tariff(api: Api, tariff_id: str, rate: str, resource: str, tax: bool) -> None:
    tariff = (TAXED if tax else FLAT_TARIFF) | {"energy": {"type": "flat", "rate": rate}}
    body = {
        "tariff": tariff,
        "resource": resource,
        "effective_from": "2026-01-01T00:00:00+01:00",
        "reason": "setup",
    }
    await api.call("POST", f"/api/tariffs/{tariff_id}/versions", body, expect=201)


async def _building(api: Api, clock: FakeClock) -> None:
    """Rooms on 0.30/kWh untaxed; a corridor (0.25/kWh + 10 %) shared by electricity use, a
    hot-water heat meter (0.10/kWh + 10 %) and a garden tap (2.00/m³ + 10 %) shared by water
    use; both incomers."""
    await _tariff(api, "std", "0.30", "electricity", tax=False)
    await _tariff(api, "building", "0.25", "electricity", tax=True)
    await _tariff(api, "heat", "0.10", "heat", tax=True)
    await _tariff(api, "water", "2.00", "water", tax=True)
    plan = {"id": "main", "name": "Monthly", "kind": "postpaid", "tariff": "std", "billing_day": 1}
    await api.call("POST", "/api/plans", plan, expect=201)
    for tenant_id in ("t1", "t2"):
        space = f"room-{tenant_id}"
        await api.call("POST", "/api/spaces", {"id": space, "name": space}, expect=201)
        for point, resource in ((f"p-{tenant_id}", "electricity"), (f"w-{tenant_id}", "water")):
            body = {"id": point, "name": point, "space": space, "resource": resource}
            await api.call("POST", "/api/points", body, expect=201)
        tenant = {"id": tenant_id, "name": space, "plan": "main"}
        await api.call("POST", "/api/tenants", tenant, expect=201)
        move_in = {"space": space, "at": "2026-11-01T00:00:00+01:00"}
        await api.call("POST", f"/api/tenants/{tenant_id}/move-in", move_in, expect=201)
    common: list[dict[str, Any]] = [
        {"id": "corridor", "name": "Corridor lights", "allocation": "consumption"}
        | {"kind": "common", "tariff": "building"},
        {"id": "hot-water", "name": "Hot water heat", "resource": "heat"}
        | {"kind": "common", "allocation": "water_consumption", "tariff": "heat"},
        {"id": "tap", "name": "Garden tap", "resource": "water"}
        | {"kind": "common", "allocation": "consumption", "tariff": "water"},
    ]
    for shared in common:
        await api.call("POST", "/api/points", shared, expect=201)
    for point_id, resource in (("main", "electricity"), ("water-main", "water")):
        body = {"id": point_id, "name": point_id, "resource": resource, "kind": "incomer"}
        await api.call("POST", "/api/points", body, expect=201)
    readings = [
        {"point": point, "ts": ts, key: amount}
        for point, (key, used) in USED.items()
        for ts, amount in ((NOV_1, 0), (DEC_1, used))
    ]
    clock.now_us = DEC_1 * 1_000_000
    await api.call("POST", "/api/readings", {"v": 2, "readings": readings}, expect=200)


async def test_each_common_point_is_shared_by_the_use_of_one_resource(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """Corridor: 8 kWh x 0.25 = 2.00 by electricity 10 / 30 kWh: 2 kWh and 0.50, 6 kWh and
    1.50. Hot water: 20 kWh x 0.10 = 2.00 by water 3,000 / 1,000 L: 15 kWh and 1.50, 5 kWh
    and 0.50. Garden tap: 0.6 m³ x 2.00 = 1.20 by water: 0.45 m³ and 0.90, 0.15 m³ and
    0.30."""
    await _building(api, clock)
    clock.now_us = (DEC_1 + 6 * 3600) * 1_000_000
    await ledger.tick()
    shared, totals = {}, {}
    for tenant_id in ("t1", "t2"):
        (listed,) = (await api.call("GET", f"/api/tenants/{tenant_id}/statements"))["statements"]
        document = await api.call("GET", f"/api/statements/{listed['id']}")
        shared[tenant_id] = [
            (line["label"], line["quantity"], line["unit"], line["amount"])
            for line in document["lines"]
            if line["kind"] == "shared"
        ]
        totals[tenant_id] = (document["net"], document["tax"], document["total"])
    assert shared == {
        "t1": [
            ("shared: Corridor lights (by electricity use)", "2.000", "kWh", "0.50"),
            ("shared: Hot water heat (by water use)", "15.000", "kWh", "1.50"),
            ("shared: Garden tap (by water use)", "0.450", "m³", "0.90"),
        ],
        "t2": [
            ("shared: Corridor lights (by electricity use)", "6.000", "kWh", "1.50"),
            ("shared: Hot water heat (by water use)", "5.000", "kWh", "0.50"),
            ("shared: Garden tap (by water use)", "0.150", "m³", "0.30"),
        ],
    }
    # Own electricity at 0.30 untaxed (3.00 and 9.00); the shares (2.90 and 2.30) taxed 10 %.
    assert totals == {"t1": ("5.90", "0.29", "6.19"), "t2": ("11.30", "0.23", "11.53")}


async def test_the_loss_report_is_electricity_only(api: Api, clock: FakeClock) -> None:
    """50 kWh in at the electricity incomer; 10 + 30 kWh in the rooms and 8 kWh in the corridor:
    2 kWh lost. The water counters, the tap, the water main and the heat meter are no part of
    it."""
    await _building(api, clock)
    query = "from=2026-11-01T00:00:00%2B01:00&to=2026-12-01T00:00:00%2B01:00"
    report = await api.call("GET", f"/api/reports/losses?{query}", expect=200)
    assert report == {
        "from": "2026-10-31T23:00:00+00:00",
        "to": "2026-11-30T23:00:00+00:00",
        "resource": "electricity",
        "incomers": ["main"],
        "incomer_kwh": "50.000",
        "channels_kwh": "48.000",
        "losses_kwh": "2.000",
        "loss_ratio": "0.0400",
    }


ALLOCATIONS = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    st.sampled_from(
        [*AllocationMethod, "WATER_CONSUMPTION", "water consumption", "water_consumption ",
         "consumption\x00", "watér_consumption", "water_" * 1000]
    ),
)  # fmt: skip
_POINT_IDS = count()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(allocation=ALLOCATIONS)
async def test_a_common_points_allocation_is_one_of_the_methods_or_refused(
    api: Api, allocation: Any
) -> None:
    """Garbage in ``allocation`` is refused with the error shape and stores no point."""
    tariffs = {v["tariff_id"] for v in (await api.call("GET", "/api/tariffs"))["versions"]}
    if "heat" not in tariffs:
        await _tariff(api, "heat", "0.10", "heat", tax=True)
    point_id = f"heater-{next(_POINT_IDS)}"
    body = {"id": point_id, "name": "Heater", "resource": "heat", "kind": "common"}
    reply = await api.call(
        "POST", "/api/points", body | {"allocation": allocation, "tariff": "heat"}
    )
    points = {p["id"]: p for p in (await api.call("GET", "/api/points"))["points"]}
    if isinstance(allocation, str) and allocation in set(AllocationMethod):
        assert points[point_id]["allocation"] == allocation
    else:
        assert set(reply) == {"error"}, reply
        assert point_id not in points
