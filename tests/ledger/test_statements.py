"""Statement runs: a postpaid month billed on the billing day, in JSON, CSV and PDF."""

from datetime import UTC, datetime
from typing import Any

from tenant_ledger.service import LedgerService

from .conftest import Api, FakeClock, pdf_text

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC
DAY = 86_400
TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.30"},
    "standing_charge_per_day": "0.50",
    "tax_rate": "0.19",
}


def _at(clock: FakeClock, month: int, day: int, hour: int = 0) -> None:
    clock.now_us = int(datetime(2026, month, day, hour, tzinfo=UTC).timestamp()) * 1_000_000


async def _postpaid_building(api: Api) -> None:
    body = {"tariff": TARIFF, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "setup"}
    await api.call("POST", "/api/tariffs/std/versions", body, expect=201)
    plan: dict[str, object] = {"id": "post", "name": "Monthly", "kind": "postpaid"}
    plan |= {"tariff": "std", "billing_day": 1, "due_days": 14, "grace_days": 3}
    await api.call("POST", "/api/plans", plan, expect=201)
    await api.call(
        "POST", "/api/tenants", {"id": "t1", "name": "Stall 1", "plan": "post"}, expect=201
    )
    await api.call("POST", "/api/points", {"id": POINT, "name": "stall 1"}, expect=201)
    move_in = {"points": [POINT], "at": "2026-11-01T00:00:00+01:00"}
    await api.call("POST", "/api/tenants/t1/move-in", move_in, expect=201)
    readings = [
        {"point": POINT, "ts": NOV_5, "energy_wh": 0},
        {"point": POINT, "ts": NOV_5 + DAY, "energy_wh": 100_000},
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)


async def test_postpaid_month_is_billed_on_the_billing_day_and_falls_due(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await _postpaid_building(api)
    # Home Assistant reported the supply on: without it the ledger never decides a cut-off.
    await api.call("POST", "/api/tenants/t1/supply", {"supply": "on", "reason": "seen"})
    await ledger.tick()
    assert (await api.call("GET", "/api/tenants/t1/statements"))["statements"] == []

    _at(clock, 12, 1, 6)  # the billing day
    await ledger.tick()
    listed = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    assert [s["total"] for s in listed] == ["53.55"]  # (30.00 energy + 15.00 standing) x 1.19
    statement = await api.call("GET", f"/api/statements/{listed[0]['id']}")
    assert (statement["net"], statement["tax"], statement["energy_kwh"]) == (
        "45.00",
        "8.55",
        "100.000",
    )
    assert (statement["issued_on"], statement["due_on"]) == ("2026-12-01", "2026-12-15")
    assert statement["number"] == "2026-00001"
    assert [tax["name"] for tax in statement["taxes"]] == ["VAT"]
    assert statement["closing_balance"] == "-53.55"
    state = await api.call("GET", "/api/tenants/t1")
    assert (state["balance"], state["status"]) == ("-53.55", "ok")
    assert (await api.call("POST", "/api/statements/run"))["issued_for"] == []

    _at(clock, 12, 16)
    await ledger.tick()
    assert (await api.call("GET", "/api/tenants/t1"))["status"] == "arrears"
    _at(clock, 12, 19)
    await ledger.tick()
    assert (await api.call("GET", "/api/tenants/t1"))["status"] == "disconnect_due"
    paid = {"amount": "53.55", "reason": "bank transfer"}
    paid_state = (await api.call("POST", "/api/tenants/t1/topups", paid, expect=201))["state"]
    assert paid_state["status"] == "ok"


async def test_statement_as_csv_and_pdf(api: Api, ledger: LedgerService, clock: FakeClock) -> None:
    await _postpaid_building(api)
    _at(clock, 12, 1, 6)
    await ledger.tick()
    statement_id = (await api.call("GET", "/api/tenants/t1/statements"))["statements"][0]["id"]
    headers = {"Authorization": f"Bearer {api.token}"}
    reply = await api.client.get(f"/api/statements/{statement_id}?format=csv", headers=headers)
    assert reply.content_type == "text/csv"
    text = await reply.text()
    assert text.splitlines()[0] == "section,item,quantity,unit,unit_price,amount_EUR"
    assert "charge,energy,100.000,kWh,0.30,30.00" in text
    assert "total,total charges,100.000,kWh,,53.55" in text
    reply = await api.client.get(f"/api/statements/{statement_id}?format=pdf", headers=headers)
    pdf = await reply.read()
    assert reply.content_type == "application/pdf"
    text = pdf_text(pdf)
    assert "Statement 2026-00001" in text
    assert "Stall 1" in text
    assert "VAT 19 %" in text
    assert "53.55" in text
    await api.call("GET", f"/api/statements/{statement_id}?format=doc", expect=400)
    await api.call("GET", "/api/statements/999", expect=404)


async def test_tariff_created_mid_month(api: Api, ledger: LedgerService, clock: FakeClock) -> None:
    """Energy and standing days before the tariff's first version are simply not billed."""
    body = {"tariff": TARIFF, "effective_from": "2026-11-06T00:00:00+01:00", "reason": "new"}
    await api.call("POST", "/api/tariffs/late/versions", body, expect=201)
    plan = {"id": "post", "name": "Monthly", "kind": "postpaid", "tariff": "late"}
    await api.call("POST", "/api/plans", plan | {"billing_day": 1}, expect=201)
    await api.call("POST", "/api/tenants", {"id": "t1", "name": "S1", "plan": "post"}, expect=201)
    await api.call("POST", "/api/points", {"id": POINT, "name": "stall 1"}, expect=201)
    move_in = {"points": [POINT], "at": "2026-11-01T00:00:00+01:00"}
    await api.call("POST", "/api/tenants/t1/move-in", move_in, expect=201)
    # 2026-11-05 00:00 UTC .. 11-06 00:00 UTC: 23 of the 24 hours precede the tariff.
    readings = [
        {"point": POINT, "ts": NOV_5, "energy_wh": 0},
        {"point": POINT, "ts": NOV_5 + DAY, "energy_wh": 24_000},
        {"point": POINT, "ts": NOV_5 + 2 * DAY, "energy_wh": 34_000},
    ]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    assert (await api.call("GET", "/api/tenants/t1"))["period_energy_kwh"] == "11.000"

    _at(clock, 12, 1, 6)
    await ledger.tick()
    listed = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    assert len(listed) == 1
    statement = await api.call("GET", f"/api/statements/{listed[0]['id']}")
    assert statement["energy_kwh"] == "11.000"
    # 11 kWh x 0.30 + 25 days (Nov 6 .. 30) x 0.50 = 15.80 net, 18.80 with 19 % tax
    assert statement["net"] == "15.80"
    assert statement["closing_balance"] == f"-{statement['total']}"


async def _balance(api: Api) -> str:
    return str((await api.call("GET", "/api/tenants/t1"))["balance"])


async def _issued(api: Api) -> list[dict[str, Any]]:
    listed = (await api.call("GET", "/api/tenants/t1/statements"))["statements"]
    return [await api.call("GET", f"/api/statements/{s['id']}") for s in listed]


async def test_two_postpaid_months_each_statement_opens_where_the_last_closed(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await _postpaid_building(api)
    dec_1 = NOV_5 + 26 * DAY - 3600  # 2026-12-01 00:00 Berlin: the reading closing November
    _at(clock, 12, 1, 6)
    readings = [{"point": POINT, "ts": dec_1, "energy_wh": 100_000}]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    await ledger.tick()
    (november,) = await _issued(api)
    assert (november["opening_balance"], november["closing_balance"]) == ("0.00", "-53.55")
    assert await _balance(api) == "-53.55"

    _at(clock, 12, 10)
    paid = {"amount": "53.55", "reason": "bank transfer"}
    await api.call("POST", "/api/tenants/t1/topups", paid, expect=201)
    readings = [
        {"point": POINT, "ts": dec_1 + 14 * DAY, "energy_wh": 150_000},
        {"point": POINT, "ts": dec_1 + 31 * DAY, "energy_wh": 150_000},
    ]
    clock.now_us = (dec_1 + 31 * DAY + 7 * 3600) * 1_000_000  # 2027-01-01 06:00 UTC
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    await ledger.tick()
    november, december = sorted(await _issued(api), key=lambda s: str(s["period_start"]))
    # 50 kWh x 0.30 + 31 days x 0.50 = 30.50 net, 36.30 with tax
    assert december["total"] == "36.30"
    assert december["opening_balance"] == november["closing_balance"] == "-53.55"
    assert [c["amount"] for c in december["credits"]] == ["53.55"]
    assert december["closing_balance"] == "-36.30"
    assert await _balance(api) == "-36.30"


async def test_a_reading_after_the_statement_is_shown_on_the_next_one(
    api: Api, ledger: LedgerService, clock: FakeClock
) -> None:
    await _postpaid_building(api)
    _at(clock, 12, 1, 6)
    await ledger.tick()
    (november,) = await _issued(api)
    assert november["closing_balance"] == "-53.55"

    # 100 Wh an hour since Nov 6: 599 of the 624 hours fall in November, after its statement.
    clock.now_us = (NOV_5 + 27 * DAY) * 1_000_000
    readings = [{"point": POINT, "ts": NOV_5 + 27 * DAY, "energy_wh": 162_400}]
    await api.call("POST", "/api/readings", {"readings": readings}, expect=200)
    assert await _balance(api) == "-75.82"  # 59.9 kWh = 21.38 (Nov) + 2.5 kWh = 0.89 (Dec)

    clock.now_us = (NOV_5 + 57 * DAY + 6 * 3600) * 1_000_000  # 2027-01-01 06:00 UTC
    await ledger.tick()
    november, december = sorted(await _issued(api), key=lambda s: str(s["period_start"]))
    assert december["opening_balance"] == "-53.55"
    assert december["late_readings"] == [
        {
            "kind": "late",
            "label": "late readings for 2026-11-01",
            "quantity": "59.900",
            "unit": "kWh",
            "unit_price": None,
            "amount": "21.38",
        }
    ]
    # 2.5 kWh x 0.30 + 31 days x 0.50 = 16.25 net, 19.34 with tax
    assert december["total"] == "19.34"
    assert december["closing_balance"] == "-94.27"  # -53.55 - 21.38 - 19.34
    assert await _balance(api) == "-94.27"
