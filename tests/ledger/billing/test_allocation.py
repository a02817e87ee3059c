"""Common areas and losses: exact splits by area, equally or by consumption share."""

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from functools import partial

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.billing import (
    AllocationMethod,
    Money,
    Occupant,
    allocate,
    largest_remainder,
    loss_report,
    weights_label,
)
from tenant_ledger.billing.resources import Resource

ELECTRICITY, WATER, HEAT = Resource.ELECTRICITY, Resource.WATER, Resource.HEAT

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
        resource=ELECTRICITY,
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
        resource=ELECTRICITY,
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
        resource=ELECTRICITY,
    )
    assert shares(lines) == {"a": (4, "0.02"), "b": (2, "0.01"), "c": (4, "0.02")}


def test_consumption_share_split():
    # Own use 100 / 300 / 0 Wh: the corridor's 1,000 Wh and 2.00 go 1/4 and 3/4.
    occupants = [
        Occupant(tenant_id="a", occupied=MONTH, usage={ELECTRICITY: 100}),
        Occupant(tenant_id="b", occupied=MONTH, usage={ELECTRICITY: 300}),
        Occupant(tenant_id="c", occupied=MONTH, usage={ELECTRICITY: 0}),
    ]
    lines = allocate(
        label="corridor",
        energy_wh=1_000,
        cost=Money.of("2.00", "EUR"),
        method=AllocationMethod.CONSUMPTION,
        occupants=occupants,
        tax_rate=Decimal(0),
        resource=ELECTRICITY,
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
        resource=ELECTRICITY,
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
            resource=ELECTRICITY,
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
        resource=ELECTRICITY,
    )
    assert shares(lines) == {"a": (2500, "0.63"), "b": (2500, "0.62")}


def test_negative_losses_are_reported_but_cost_nothing():
    report = loss_report(99_000, [60_000, 40_000])
    assert report.losses_wh == -1_000
    assert report.cost(Money.of("30", "EUR")) == Money.zero("EUR")


def test_largest_remainder_of_a_negative_total():
    # A refund of 10 units split three ways: -3.33 each -> -3, -3, -3 and -1 more for "a".
    assert largest_remainder(-10, {"a": 1, "b": 1, "c": 1}) == {"a": -4, "b": -3, "c": -3}


# Issue 17: a tenant holds points of several resources. A common point is shared by the use of
# its own resource (``consumption``) or by water (``water_consumption``), never by a sum of
# litres and Wh.
MIXED = [
    Occupant(tenant_id="a", occupied=MONTH, usage={ELECTRICITY: 100, WATER: 900}),
    Occupant(tenant_id="b", occupied=MONTH, usage={ELECTRICITY: 300, WATER: 100}),
]


def test_an_electricity_common_point_is_shared_by_electricity_only():
    # By electricity 100 / 300 Wh: 1,000 Wh and 2.00 go 1/4 and 3/4. Adding the litres
    # (1,000 against 400) would have given 714 / 286 Wh and 1.43 / 0.57.
    lines = allocate(
        label="corridor",
        energy_wh=1_000,
        cost=Money.of("2.00", "EUR"),
        method=AllocationMethod.CONSUMPTION,
        occupants=MIXED,
        tax_rate=Decimal(0),
        resource=ELECTRICITY,
    )
    assert shares(lines) == {"a": (250, "0.50"), "b": (750, "1.50")}


def test_a_water_common_point_is_shared_by_water_only():
    # By water 900 / 100 L: a garden tap's 1,000 L and 2.00 go 9/10 and 1/10.
    lines = allocate(
        label="garden tap",
        energy_wh=1_000,
        cost=Money.of("2.00", "EUR"),
        method=AllocationMethod.CONSUMPTION,
        occupants=MIXED,
        tax_rate=Decimal(0),
        resource=WATER,
    )
    assert shares(lines) == {"a": (900, "1.80"), "b": (100, "0.20")}
    assert {line.resource for line in lines.values()} == {WATER}  # litres, shown in m³


def test_a_hot_water_heat_meter_is_shared_by_water():
    # Water 300 / 100 / 0 L (electricity the other way round, and ignored): 3/4, 1/4, 0.
    # Wh: 7500.75 / 2500.25 / 0 -> 7500 / 2500 and the spare Wh to a (largest .75).
    # Cents: 225.75 / 75.25 / 0 -> 225 / 75 and the spare cent to a.
    occupants = [
        Occupant(tenant_id="a", occupied=MONTH, usage={ELECTRICITY: 100, WATER: 300}),
        Occupant(tenant_id="b", occupied=MONTH, usage={ELECTRICITY: 900, WATER: 100}),
        Occupant(tenant_id="c", occupied=MONTH, usage={ELECTRICITY: 5_000}),
    ]
    heat = partial(
        allocate,
        label="hot water",
        energy_wh=10_001,
        cost=Money.of("3.01", "EUR"),
        occupants=occupants,
        tax_rate=Decimal(0),
        resource=HEAT,
    )
    by_water = heat(method=AllocationMethod.WATER_CONSUMPTION)
    assert shares(by_water) == {"a": (7501, "2.26"), "b": (2500, "0.75"), "c": (0, "0.00")}
    # ``consumption`` weighs heat, which no tenant meters: equal thirds, 3333.67 Wh and 100.33
    # cents each; the spare units go to the smaller ids on the tie.
    by_heat = heat(method=AllocationMethod.CONSUMPTION)
    assert shares(by_heat) == {"a": (3334, "1.01"), "b": (3334, "1.00"), "c": (3333, "1.00")}


def test_by_water_with_no_water_used_falls_back_to_equal_shares_by_time_in():
    occupants = [
        Occupant(tenant_id="a", occupied=MONTH, usage={ELECTRICITY: 7}),
        Occupant(tenant_id="b", occupied=MONTH / 2),
    ]
    lines = allocate(
        label="hot water",
        energy_wh=90,
        cost=Money.of("0.90", "EUR"),
        method=AllocationMethod.WATER_CONSUMPTION,
        occupants=occupants,
        tax_rate=Decimal(0),
        resource=HEAT,
    )
    assert shares(lines) == {"a": (60, "0.60"), "b": (30, "0.30")}


@pytest.mark.parametrize(
    ("method", "resource", "occupants", "label"),
    [
        (AllocationMethod.EQUAL, ELECTRICITY, MIXED, "equal shares"),
        (AllocationMethod.FLOOR_AREA, WATER, MIXED, "by floor area"),
        (AllocationMethod.CONSUMPTION, ELECTRICITY, MIXED, "by electricity use"),
        (AllocationMethod.CONSUMPTION, WATER, MIXED, "by water use"),
        (AllocationMethod.WATER_CONSUMPTION, HEAT, MIXED, "by water use"),
        (AllocationMethod.CONSUMPTION, HEAT, MIXED, "equal shares, no heat used"),
        (
            AllocationMethod.WATER_CONSUMPTION,
            HEAT,
            [Occupant(tenant_id="a", occupied=MONTH, usage={ELECTRICITY: 5})],
            "equal shares, no water used",
        ),
    ],
)
def test_the_weights_are_named_as_they_were_used(method, resource, occupants, label):
    assert weights_label(method, occupants, resource=resource) == label


usages = st.dictionaries(st.sampled_from(Resource), st.integers(0, 10**12), max_size=4)
occupant_lists = st.lists(
    st.builds(
        Occupant,
        tenant_id=st.text(min_size=1, max_size=6),
        occupied=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=31)),
        floor_area_m2=st.decimals(min_value=1, max_value=10_000, places=2),
        usage=usages,
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda occupant: occupant.tenant_id,
).filter(lambda occupants: any(o.occupied > timedelta(0) for o in occupants))


@settings(max_examples=300, deadline=None)
@given(
    occupants=occupant_lists,
    method=st.sampled_from(AllocationMethod),
    resource=st.sampled_from(Resource),
    energy=st.integers(0, 10**12),
    cost_minor=st.integers(-(10**9), 10**12),
    others=usages,
)
def test_shares_add_up_exactly_and_weigh_one_resource_only(
    occupants, method, resource, energy, cost_minor, others
):
    """Per resource: the parts add up to the common point's Wh or L and its cost to the minor
    unit, and no use of a resource the method does not weigh moves a share."""
    cost = Money(currency="EUR", minor=cost_minor)
    common = partial(
        allocate, label="x", energy_wh=energy, cost=cost, tax_rate=Decimal(0), method=method
    )
    lines = common(occupants=occupants, resource=resource)
    assert sum(line.energy_wh for line in lines.values()) == energy
    assert sum(line.amount.minor for line in lines.values()) == cost_minor
    weighed = WATER if method is AllocationMethod.WATER_CONSUMPTION else resource
    changed = [
        Occupant(
            tenant_id=o.tenant_id,
            occupied=o.occupied,
            floor_area_m2=o.floor_area_m2,
            usage={
                **{k: v for k, v in others.items() if k is not weighed},
                weighed: o.usage.get(weighed, 0),
            },
        )
        for o in occupants
    ]
    again = common(occupants=changed, resource=resource)
    assert shares(again) == shares(lines)
