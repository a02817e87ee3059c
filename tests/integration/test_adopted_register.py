"""An adopted sensor's state as an integer register: exact per resource, or a clear skip."""

from decimal import ROUND_HALF_UP, Decimal, localcontext

from hypothesis import given, strategies as st
import pytest

from custom_components.tenant_metering.resources import Resource
from custom_components.tenant_metering.sources.adopted.register import (
    FACTORS,
    MAX_REGISTER,
    Skipped,
    register_of,
)

# Each unit's size in the register unit, written down independently of the module under test:
# the definitions (US gallon, international foot, joule = 1/3600 Wh).
LITRES: dict[str, Decimal] = {
    "L": Decimal(1),
    "m³": Decimal(1000),
    "gal": Decimal("3.785411784"),
    "ft³": Decimal("28.316846592"),
    "CCF": Decimal("2831.6846592"),
}
WATT_HOURS_TIMES_3600: dict[str, Decimal] = {
    "Wh": Decimal(3600),
    "kWh": Decimal(3_600_000),
    "MWh": Decimal(3_600_000_000),
    "MJ": Decimal(1_000_000),
    "GJ": Decimal(1_000_000_000),
}


def expected_register(value: Decimal, unit: str, resource: Resource) -> int | Skipped:
    """The oracle: high-precision Decimal, half up, once; beyond the contract's 2^53, a skip."""
    with localcontext() as context:
        context.prec = 200
        if resource in (Resource.WATER, Resource.GAS):
            exact = value * LITRES[unit]
        else:
            exact = value * WATT_HOURS_TIMES_3600[unit] / 3600
        register = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return register if register <= MAX_REGISTER else Skipped(why="too large for a register")


def test_the_oracle_covers_every_unit_the_module_accepts() -> None:
    assert set(FACTORS[Resource.WATER]) == set(LITRES) == set(FACTORS[Resource.GAS])
    assert set(FACTORS[Resource.ELECTRICITY]) == set(WATT_HOURS_TIMES_3600)
    assert set(FACTORS[Resource.HEAT]) == set(WATT_HOURS_TIMES_3600)


@pytest.mark.parametrize(
    ("state", "unit", "resource", "register"),
    [
        ("123.456", "m³", Resource.WATER, 123_456),
        ("0.0005", "m³", Resource.WATER, 1),  # half a litre rounds up
        ("0.00049", "m³", Resource.WATER, 0),
        ("1", "gal", Resource.WATER, 4),  # 3.785411784 L
        ("100", "gal", Resource.WATER, 379),  # 378.5411784 L
        ("1", "CCF", Resource.GAS, 2832),  # 2831.6846592 L
        ("10", "ft³", Resource.GAS, 283),  # 283.16846592 L
        ("1234", "L", Resource.WATER, 1234),
        ("1", "MJ", Resource.HEAT, 278),  # 277.77… Wh
        ("1.5", "GJ", Resource.HEAT, 416_667),  # 416 666.66… Wh
        ("12.345", "MWh", Resource.HEAT, 12_345_000),
        ("1.0005", "kWh", Resource.ELECTRICITY, 1001),
    ],
)
def test_worked_conversions(state: str, unit: str, resource: Resource, register: int) -> None:
    assert register_of(state, unit, resource) == register


@pytest.mark.parametrize(
    ("state", "unit", "resource", "reason"),
    [
        ("unavailable", "m³", Resource.WATER, "no reading (unavailable)"),
        ("unknown", "kWh", Resource.HEAT, "no reading (unknown)"),
        ("1.5", "kWh", Resource.WATER, "unit 'kWh' is not one of L, m³, gal, ft³, CCF"),
        ("1.5", "m³", Resource.ELECTRICITY, "unit 'm³' is not one of Wh, kWh, MWh, MJ, GJ"),
        ("1.5", None, Resource.GAS, "unit None is not one of L, m³, gal, ft³, CCF"),
        ("1,5", "m³", Resource.WATER, "not a number"),
        ("NaN", "m³", Resource.WATER, "not a finite number"),
        ("-Infinity", "kWh", Resource.ELECTRICITY, "not a finite number"),
        ("-0.001", "m³", Resource.WATER, "negative"),
        ("1e999999999", "L", Resource.WATER, "too large for a register"),
        ("9007199254740.993", "m³", Resource.WATER, "too large for a register"),  # 2^53 + 1 L
        ("1E-999999999", "m³", Resource.WATER, "more than 40 decimal places"),  # no 10^999999999
        ("0." + "0" * 40 + "1", "L", Resource.WATER, "more than 40 decimal places"),
    ],
)
def test_what_is_skipped_says_why(
    state: str, unit: str | None, resource: Resource, reason: str
) -> None:
    assert register_of(state, unit, resource) == Skipped(why=reason)


@given(
    resource=st.sampled_from(list(Resource)),
    data=st.data(),
    value=st.decimals(min_value=0, max_value=Decimal(10) ** 12, allow_nan=False, places=9),
)
def test_every_accepted_unit_converts_exactly(
    resource: Resource, data: st.DataObject, value: Decimal
) -> None:
    unit = data.draw(st.sampled_from(sorted(FACTORS[resource])))
    assert register_of(str(value), unit, resource) == expected_register(value, unit, resource)


def test_the_largest_register_is_the_contracts() -> None:
    assert MAX_REGISTER == 2**53
    assert register_of("9007199254740.992", "m³", Resource.WATER) == 2**53


@given(litres=st.integers(min_value=0, max_value=10**15))
def test_a_litre_register_shown_in_cubic_metres_comes_back_exactly(litres: int) -> None:
    """HA shows a water meter's litres as m³ with three decimals: no litre is lost or made."""
    shown = str(Decimal(litres) / 1000)
    assert register_of(shown, "m³", Resource.WATER) == litres


@given(
    state=st.one_of(
        st.text(),
        st.from_regex(r"\A[-+]?\d{0,40}(\.\d{0,40})?([eE][-+]?\d{1,12})?\Z"),
        # Tiny and huge exponents: each must cost nothing, not a 10**exponent Fraction.
        st.builds("{}E{}".format, st.integers(1, 99), st.integers(-(10**12), 10**12)),
    ),
    unit=st.one_of(st.none(), st.text(max_size=8), st.sampled_from(["m³", "kWh", "GJ", "gal"])),
    resource=st.sampled_from(list(Resource)),
)
def test_any_state_and_unit_is_a_register_or_a_skip(
    state: str, unit: str | None, resource: Resource
) -> None:
    result = register_of(state, unit, resource)
    if isinstance(result, Skipped):
        assert result.why
    else:
        assert type(result) is int
        assert 0 <= result <= MAX_REGISTER
        assert result == expected_register(Decimal(state), str(unit), resource)
