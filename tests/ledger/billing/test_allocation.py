"""Common areas and losses: exact splits by area, equally or by consumption share."""

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from tenant_ledger.billing import (
    AllocationMethod,
    Money,
    Occupant,
    allocate,
    largest_remainder,
    loss_report,
)

MONTH = timedelta(days=31)


def shares(lines):
    return {tenant: (line.energy_wh, str(line.amount)) for tenant, line in lines.items()}


def test_common_corridor_split_by_floor_area():
    # Corridor: 10,001 Wh costing 3.01. Rooms of 20, 30 and 50 m2, all in for the month.
    # Wh: 2000.2 / 3000.3 / 5000.5 -> 2000 / 3000 / 5000 and the spare Wh to c (largest .5).
    # Cents: 60.2 / 90.3 / 150.5 -> 60 / 90 / 150 and the spare cent to c.
    lines = allocate(
        label="corridor",
        energy_wh=10_001,
        cost=Money.of("3.01", "EUR"),
        method=AllocationMethod.FLOOR_AREA,
        occupants=[
            Occupant(tenant_id="a", occupied=MONTH, floor_area_m2=Decimal(20)),
            Occupant(tenant_id="b", occupied=MONTH, floor_area_m2=Decimal(30)),
            Occupant(tenant_id="c", occupied=MONTH, floor_area_m2=Decimal(50)),
        ],
        tax_rate=Decimal("0.19"),
    )
    assert shares(lines) == {"a": (2000, "0.60"), "b": (3000, "0.90"), "c": (5001, "1.51")}
    assert lines["a"].label == "corridor"
    assert lines["a"].exact_amount == Fraction(3, 5)


def test_equal_split_ties_go_to_the_smaller_tenant_id():
    # 100 Wh and 1.00 between three: 33 each and one spare unit; all remainders tie, "a" wins.
    occupants = [Occupant(tenant_id=t, occupied=MONTH) for t in ("c", "a", "b")]
    lines = allocate(
        label="pump",
        energy_wh=100,
        cost=Money.of("1.00", "EUR"),
        method=AllocationMethod.EQUAL,
        occupants=occupants,
        tax_rate=Decimal(0),
    )
    assert shares(lines) == {"a": (34, "0.34"), "b": (33, "0.33"), "c": (33, "0.33")}


def test_equal_split_is_scaled_by_time_in_and_skips_the_absent():
    # b moved in half-way through; d was not there at all: weights 1, 1/2, 1 over 10 Wh = 4/2/4.
    occupants = [
        Occupant(tenant_id="a", occupied=MONTH),
        Occupant(tenant_id="b", occupied=MONTH / 2),
        Occupant(tenant_id="c", occupied=MONTH),
        Occupant(tenant_id="d", occupied=timedelta(0)),
    ]
    lines = allocate(
        label="lift",
        energy_wh=10,
        cost=Money.of("0.05", "EUR"),
        method=AllocationMethod.EQUAL,
        occupants=occupants,
        tax_rate=Decimal(0),
    )
    assert shares(lines) == {"a": (4, "0.02"), "b": (2, "0.01"), "c": (4, "0.02")}


def test_consumption_share_split():
    # Own use 100 / 300 / 0 Wh: the corridor's 1,000 Wh and 2.00 go 1/4 and 3/4.
    occupants = [
        Occupant(tenant_id="a", occupied=MONTH, consumption_wh=100),
        Occupant(tenant_id="b", occupied=MONTH, consumption_wh=300),
        Occupant(tenant_id="c", occupied=MONTH, consumption_wh=0),
    ]
    lines = allocate(
        label="corridor",
        energy_wh=1_000,
        cost=Money.of("2.00", "EUR"),
        method=AllocationMethod.CONSUMPTION,
        occupants=occupants,
        tax_rate=Decimal(0),
    )
    assert shares(lines) == {"a": (250, "0.50"), "b": (750, "1.50"), "c": (0, "0.00")}


def test_consumption_share_with_no_consumption_falls_back_to_equal():
    occupants = [Occupant(tenant_id=t, occupied=MONTH) for t in ("a", "b")]
    lines = allocate(
        label="corridor",
        energy_wh=10,
        cost=Money.of("1.00", "EUR"),
        method=AllocationMethod.CONSUMPTION,
        occupants=occupants,
        tax_rate=Decimal(0),
    )
    assert shares(lines) == {"a": (5, "0.50"), "b": (5, "0.50")}


def test_floor_area_needs_every_area():
    with pytest.raises(ValueError, match="floor area unknown for b"):
        allocate(
            label="corridor",
            energy_wh=10,
            cost=Money.of("1", "EUR"),
            method=AllocationMethod.FLOOR_AREA,
            occupants=[
                Occupant(tenant_id="a", occupied=MONTH, floor_area_m2=Decimal(10)),
                Occupant(tenant_id="b", occupied=MONTH),
            ],
            tax_rate=Decimal(0),
        )


def test_losses_reported_and_allocated_equally():
    # Incomer 105,000 Wh, rooms 60,000 + 40,000: 5,000 Wh lost (1/21). The incomer's energy
    # cost 26.25, so the losses are worth 26.25 x 5/105 = 1.25; split between two tenants:
    # 2,500 Wh each, 62.5 cents each -> 62 + 62 and the spare cent to "a".
    report = loss_report(105_000, [60_000, 40_000])
    assert report.losses_wh == 5_000
    assert report.loss_ratio == Fraction(1, 21)
    cost = report.cost(Money.of("26.25", "EUR"))
    assert str(cost) == "1.25"
    lines = allocate(
        label="losses",
        energy_wh=report.losses_wh,
        cost=cost,
        method=AllocationMethod.EQUAL,
        occupants=[Occupant(tenant_id=t, occupied=MONTH) for t in ("b", "a")],
        tax_rate=Decimal(0),
    )
    assert shares(lines) == {"a": (2500, "0.63"), "b": (2500, "0.62")}


def test_negative_losses_are_reported_but_cost_nothing():
    report = loss_report(99_000, [60_000, 40_000])
    assert report.losses_wh == -1_000
    assert report.cost(Money.of("30", "EUR")) == Money.zero("EUR")


def test_largest_remainder_of_a_negative_total():
    # A refund of 10 units split three ways: -3.33 each -> -3, -3, -3 and -1 more for "a".
    assert largest_remainder(-10, {"a": 1, "b": 1, "c": 1}) == {"a": -4, "b": -3, "c": -3}
