"""Statements per tenant and period, worked by hand, and reproducible from raw readings."""

from decimal import Decimal
from fractions import Fraction

from tenant_ledger.billing import (
    AllocationLine,
    Assignment,
    Credit,
    CreditKind,
    EnergyLine,
    Money,
    PostingAccumulator,
    StandingLine,
    build_statement,
    exact_gross,
    price,
    validate_assignments,
    validate_statement,
)

from .helpers import at, flat, reading

JAN_1 = at("2026-01-01T00:00:00+01:00")
JAN_16 = at("2026-01-16T00:00:00+01:00")
FEB_1 = at("2026-02-01T00:00:00+01:00")
TARIFF = flat("0.25", standing_charge_per_day="0.50", tax_rate="0.19")
READINGS = [
    reading("room-1", "2026-01-01T00:00:00+01:00", 0),
    reading("room-1", "2026-01-11T00:00:00+01:00", 300_000),
    reading("room-1", "2026-01-21T00:00:00+01:00", 800_000),
    reading("room-1", "2026-02-01T00:00:00+01:00", 1_020_000),
]
ASSIGNMENTS = [
    Assignment(
        point_id="room-1", tenant_id="alice", start=at("2025-06-01T00:00:00+02:00"), end=JAN_16
    ),
    Assignment(point_id="room-1", tenant_id="bob", start=JAN_16),
]


def energy(unit_price, tax_rate, energy_wh):
    return EnergyLine(
        band="energy",
        unit_price=Decimal(unit_price),
        tax_rate=Decimal(tax_rate),
        energy_wh=energy_wh,
    )


def eur(text):
    return Money.of(text, "EUR")


def statement(tenant_id, readings=READINGS, **options):
    return build_statement(
        tenant_id=tenant_id,
        start=JAN_1,
        end=FEB_1,
        schedule=TARIFF,
        readings=readings,
        assignments=ASSIGNMENTS,
        **options,
    )


def test_tenant_moves_out_mid_month():
    # Alice leaves on the 16th at midnight, halfway through the 11th-21st reading interval
    # (500 kWh), so she pays for 300 + 250 = 550 kWh x 0.25 = 137.50, plus 15 days of
    # standing charge x 0.50 = 7.50: net 145.00, tax 19 % = 27.55, total 172.55.
    # She opened at 200.00 and topped up 50.00: closing 200 + 50 - 172.55 = 77.45.
    alice = statement(
        "alice",
        opening_balance=eur("200.00"),
        credits=[
            Credit(
                ts=at("2026-01-10T09:30:00+01:00"),
                kind=CreditKind.TOP_UP,
                amount=eur("50.00"),
                description="cash",
            )
        ],
    )
    assert alice.energy_wh == 550_000
    assert [str(line.amount) for line in alice.charges.lines] == ["137.50", "7.50"]
    assert (str(alice.charges.net), str(alice.charges.tax), str(alice.charges.total)) == (
        "145.00",
        "27.55",
        "172.55",
    )
    assert str(alice.closing_balance) == "77.45"
    [room] = alice.points
    assert (room.first_reading, room.last_reading) == (READINGS[0], READINGS[1])
    assert validate_statement(alice) == []


def test_tenant_moves_in_mid_month():
    # Bob: the other 250 kWh of that interval plus 220 kWh = 470 kWh x 0.25 = 117.50; 16 days
    # x 0.50 = 8.00; net 125.50; tax 23.845 rounds half up to 23.85; total 149.35.
    bob = statement("bob", opening_balance=eur("0"))
    assert bob.energy_wh == 470_000
    assert (str(bob.charges.net), str(bob.charges.tax), str(bob.charges.total)) == (
        "125.50",
        "23.85",
        "149.35",
    )
    assert str(bob.closing_balance) == "-149.35"
    assert (bob.points[0].first_reading, bob.points[0].last_reading) == (READINGS[2], READINGS[3])
    assert validate_statement(bob) == []


def test_statement_is_reproducible_from_raw_readings_in_any_order():
    first = statement("alice", opening_balance=eur("0"))
    again = build_statement(
        tenant_id="alice",
        start=JAN_1,
        end=FEB_1,
        schedule=TARIFF,
        readings=[*reversed(READINGS), READINGS[1]],
        assignments=list(reversed(ASSIGNMENTS)),
        opening_balance=eur("0"),
    )
    assert again == first


def test_statement_with_allocations_and_an_adjustment():
    # Bob's 125.50 plus a corridor share of 3.33 = net 128.83; tax 19 % = 24.4777 -> 24.48;
    # total 153.31. A goodwill adjustment of 10.00 on an opening 20.00: closing -123.31.
    corridor = AllocationLine(
        label="corridor", energy_wh=11_100, amount=eur("3.33"), tax_rate=Decimal("0.19")
    )
    bob = statement(
        "bob",
        opening_balance=eur("20.00"),
        allocations=[corridor],
        credits=[
            Credit(
                ts=at("2026-01-20T00:00:00+01:00"),
                kind=CreditKind.ADJUSTMENT,
                amount=eur("10.00"),
                description="goodwill: outage on the 19th",
            )
        ],
    )
    assert [line.line.label for line in bob.charges.lines] == ["energy", "standing", "corridor"]
    assert (str(bob.charges.net), str(bob.charges.tax), str(bob.charges.total)) == (
        "128.83",
        "24.48",
        "153.31",
    )
    assert str(bob.closing_balance) == "-123.31"
    assert validate_statement(bob) == []


def test_statement_totals_round_each_line_then_tax_the_net():
    # 10 kWh x 0.2345 = 2.345 -> 2.35 (half up); 1 day x 0.333 -> 0.33; net 2.68;
    # tax 19 % of 2.68 = 0.5092 -> 0.51; total 3.19.
    standing = StandingLine(
        daily_charge=Decimal("0.333"), tax_rate=Decimal("0.19"), days=Fraction(1)
    )
    charges = price([energy("0.2345", "0.19", 10_000), standing], "EUR")
    assert [str(line.amount) for line in charges.lines] == ["2.35", "0.33"]
    assert (str(charges.net), str(charges.tax), str(charges.total)) == ("2.68", "0.51", "3.19")


def test_a_tax_rate_change_taxes_each_rate_once():
    # 10.00 at 19 % and 10.01 at 7 %: 1.90 + 0.7007 -> 0.70 = 2.60.
    charges = price([energy("1", "0.19", 10_000), energy("1", "0.07", 10_010)], "EUR")
    assert [(str(tax.base), str(tax.tax)) for tax in charges.taxes] == [
        ("10.00", "1.90"),
        ("10.01", "0.70"),
    ]
    assert str(charges.tax) == "2.60"


def test_overlapping_assignments_are_reported():
    problems = validate_assignments(
        [
            *ASSIGNMENTS,
            Assignment(point_id="room-1", tenant_id="carol", start=at("2026-01-20T00:00:00+01:00")),
        ]
    )
    assert problems == [
        "room-1 is assigned to bob and carol at the same time from 2026-01-20T00:00:00+01:00"
    ]
    assert validate_assignments(ASSIGNMENTS) == []


def test_prepaid_running_postings_close_on_the_exact_total():
    # Bob is charged after every reading: the exact cost so far (tax included) minus what was
    # already fed in goes through the accumulator. At the end the postings equal the exact
    # cost rounded once: 470 kWh x 0.25 + 16 days x 0.50 = 125.50 net, x 1.19 = 149.345
    # -> 149.35 (here equal to the statement total, so the rounding adjustment is 0.00).
    accumulator, posted, fed = PostingAccumulator(currency="EUR"), 0, Fraction(0)
    for index in range(2, len(READINGS) + 1):
        seen = statement("bob", opening_balance=eur("0"), readings=READINGS[:index])
        lines = [item.line for item in seen.charges.lines]
        so_far = exact_gross(lines)
        posting, accumulator = accumulator.post(so_far - fed)
        posted, fed = posted + posting, so_far
    assert fed == Fraction("149.345")
    assert posted == 14935
    assert posted - statement("bob", opening_balance=eur("0")).charges.total.minor == 0
