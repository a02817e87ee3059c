"""Prepaid standing charges posted day by day, once per tenant and day, trued up by statements."""

from datetime import UTC, datetime

from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock

TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.30"},
    "standing_charge_per_day": "0.50",
    "tax_rate": "0.19",
}


def _at(clock: FakeClock, month: int, day: int, hour: int) -> None:
    clock.now_us = int(datetime(2026, month, day, hour, tzinfo=UTC).timestamp()) * 1_000_000


async def _prepaid_and_postpaid(api: Api) -> None:
    body = {"tariff": TARIFF, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "setup"}
    await api.call("POST", "/api/tariffs/std/versions", body, expect=201)
    for plan_id, kind in (("pre", "prepaid"), ("post", "postpaid")):
        plan = {"id": plan_id, "name": plan_id, "kind": kind, "tariff": "std"}
        await api.call("POST", "/api/plans", plan, expect=201)
    for tenant_id, plan_id, move_in in (
        ("t1", "pre", "2026-11-01T00:00:00+01:00"),
        ("t2", "post", "2026-11-01T00:00:00+01:00"),
        ("t3", "pre", "2026-11-08T12:00:00+01:00"),  # noon: half a day
    ):
        tenant = {"id": tenant_id, "name": tenant_id, "plan": plan_id}
        await api.call("POST", "/api/tenants", tenant, expect=201)
        point = f"p-{tenant_id}"
        await api.call("POST", "/api/points", {"id": point, "name": point}, expect=201)
        body = {"points": [point], "at": move_in}
        await api.call("POST", f"/api/tenants/{tenant_id}/move-in", body, expect=201)


async def _balances(api: Api) -> dict[str, str]:
    return {
        t["tenant_id"]: t["balance"] for t in (await api.call("GET", "/api/tenants"))["tenants"]
    }


async def test_prepaid_standing_charges_are_posted_daily_and_only_once(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await _prepaid_and_postpaid(api)
    _at(clock, 11, 10, 12)  # 1-9 November have ended in Berlin
    await ledger.tick()
    # 0.50 + 19 % = 0.595 -> 0.60 a day; t3 from noon on the 8th: 1.5 days -> 0.30 + 0.60.
    assert await _balances(api) == {"t1": "-5.40", "t2": "0.00", "t3": "-0.90"}
    await ledger.tick()
    await api.call("POST", "/api/statements/run", expect=200)
    assert await _balances(api) == {"t1": "-5.40", "t2": "0.00", "t3": "-0.90"}
    journal = (await api.call("GET", "/api/tenants/t1/journal?limit=2"))["entries"]
    assert [(e["kind"], e["amount"], e["reason"]) for e in journal] == [
        ("standing", "-0.60", "standing charge 2026-11-09"),
        ("standing", "-0.60", "standing charge 2026-11-08"),
    ]
    _at(clock, 11, 10, 23)  # 00:00 on the 11th in Berlin: the 10th has ended
    await ledger.tick()
    assert (await _balances(api))["t1"] == "-6.00"


async def test_the_statement_trues_up_the_daily_rounding(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """30 days x 0.60 posted = 18.00; the statement says 30 x 0.50 = 15.00 + 2.85 tax = 17.85."""
    await _prepaid_and_postpaid(api)
    _at(clock, 11, 20, 12)
    await ledger.tick()
    _at(clock, 12, 1, 6)  # the billing day: the rest of November, then the statement
    await ledger.tick()
    (statement,) = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    assert statement["total"] == "17.85"
    journal = (await api.call("GET", "/api/tenants/t1/journal?limit=100"))["entries"]
    kinds = [e["kind"] for e in journal]
    assert kinds.count("standing") == 30
    assert (journal[0]["kind"], journal[0]["amount"]) == ("statement", "0.15")
    assert (await _balances(api))["t1"] == "-17.85"
    # December's first day has not ended: nothing posted for it yet, nor again for November.
    await ledger.tick()
    assert (await _balances(api))["t1"] == "-17.85"
    _at(clock, 12, 2, 6)
    await ledger.tick()
    assert (await _balances(api))["t1"] == "-18.45"


async def test_a_top_up_whose_reference_looks_like_a_standing_charge_blocks_nothing(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    """Callers' references have their own namespace: the day's charge is still posted."""
    await _prepaid_and_postpaid(api)
    body = {"amount": "1.00", "reason": "cash", "ref": "standing:t1:2026-11-09"}
    await api.call("POST", "/api/tenants/t1/topups", body, expect=201)
    again = await api.call("POST", "/api/tenants/t1/topups", body, expect=409)
    assert "'standing:t1:2026-11-09'" in again["error"]["message"]
    _at(clock, 11, 10, 12)
    await ledger.tick()
    assert (await _balances(api))["t1"] == "-4.40"  # 1.00 paid, 9 days of 0.60 charged
