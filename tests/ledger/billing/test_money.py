"""Money: one constructor, half-up rounding, ISO 4217 exponents, postings that never drift."""

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.billing import (
    CURRENCY_EXPONENTS,
    Money,
    PostingAccumulator,
    currency_exponent,
    format_minor,
    from_epoch,
    to_epoch,
    to_minor,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("INR", 2), ("NGN", 2), ("KES", 2),
        ("PHP", 2), ("IDR", 2), ("JPY", 0), ("KRW", 0), ("VND", 0), ("CLP", 0), ("ISK", 0),
        ("KWD", 3), ("BHD", 3), ("TND", 3),
    ],
)  # fmt: skip
def test_iso_4217_exponents(currency, exponent):
    assert currency_exponent(currency) == exponent


def test_exponent_table_only_has_0_2_or_3_decimals():
    assert set(CURRENCY_EXPONENTS.values()) == {0, 2, 3}
    assert len(CURRENCY_EXPONENTS) > 150


def test_unknown_currency_is_refused():
    with pytest.raises(ValueError, match="unknown currency 'XYZ'"):
        Money.of("1", "XYZ")


@pytest.mark.parametrize(
    ("amount", "currency", "minor", "text"),
    [
        ("12.345", "EUR", 1235, "12.35"),  # half goes up
        ("12.344", "EUR", 1234, "12.34"),
        ("-12.345", "EUR", -1234, "-12.34"),  # half goes up, towards +infinity
        ("0.05", "EUR", 5, "0.05"),
        ("1234.5", "JPY", 1235, "1235"),  # yen have no minor unit
        ("1234.4", "JPY", 1234, "1234"),
        ("1.2345", "KWD", 1235, "1.235"),  # dinar have three decimals
        ("0.007", "KWD", 7, "0.007"),
    ],
)
def test_rounding_half_up_to_the_minor_unit(amount, currency, minor, text):
    money = Money.of(amount, currency)
    assert money.minor == minor
    assert str(money) == text
    assert format_minor(minor, currency) == text


def test_amount_is_exact_decimal():
    assert Money(currency="KWD", minor=1235).amount == Decimal("1.235")
    assert Money(currency="JPY", minor=-7).amount == Decimal(-7)


@pytest.mark.parametrize("bad", [0.1, 1e3, True])
def test_floats_are_refused_at_the_boundary(bad):
    with pytest.raises(TypeError):
        Money.of(bad, "EUR")
    with pytest.raises(TypeError):
        to_minor(bad, "EUR")
    with pytest.raises(TypeError):
        PostingAccumulator(currency="EUR").post(bad)


def test_money_does_not_mix_currencies():
    with pytest.raises(ValueError, match="cannot mix EUR and USD"):
        _ = Money.of("1", "EUR") + Money.of("1", "USD")
    assert Money.of("1.10", "EUR") - Money.of("0.15", "EUR") == Money.of("0.95", "EUR")
    assert -Money.of("2", "EUR") < Money.zero("EUR")


def test_tiny_postings_carry_their_remainder():
    # 1,000 postings of 0.1 cent: rounding each alone would post 0.00; the carry posts 1.00.
    accumulator = PostingAccumulator(currency="EUR")
    postings = []
    for _ in range(1000):
        posting, accumulator = accumulator.post(Decimal("0.001"))
        postings.append(posting)
    assert sum(postings) == 100
    assert accumulator.carry == 0


def test_postings_follow_the_running_total_rounded_once():
    # 0.4 cent, 0.4 cent, 0.4 cent: running totals 0.4, 0.8, 1.2 -> posted 0, 1, 0 (sum 1).
    accumulator = PostingAccumulator(currency="EUR")
    first, accumulator = accumulator.post(Decimal("0.004"))
    second, accumulator = accumulator.post(Decimal("0.004"))
    third, accumulator = accumulator.post(Decimal("0.004"))
    assert (first, second, third) == (0, 1, 0)
    assert accumulator.carry == Fraction(1, 5)  # 0.2 cent still owed
    restored = PostingAccumulator(currency="EUR", carry=Fraction(str(accumulator.carry)))
    assert restored.post(Decimal("0.003")) == (
        1,
        PostingAccumulator(currency="EUR", carry=Fraction(-1, 2)),
    )


amounts = st.decimals(min_value=-50, max_value=50, places=6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(amounts, max_size=60), st.sampled_from(["EUR", "JPY", "KWD"]))
def test_posting_drift_is_zero_at_period_close(charges, currency):
    accumulator = PostingAccumulator(currency=currency)
    posted = 0
    for charge in charges:
        posting, accumulator = accumulator.post(charge)
        posted += posting
    assert posted == to_minor(sum(charges, Decimal(0)), currency)
    assert -Fraction(1, 2) <= accumulator.carry < Fraction(1, 2)


def test_epoch_seconds_for_the_service():
    # 1763800000 = 2025-11-22T08:26:40Z, the ts of the protocol's example payload.
    instant = from_epoch(1_763_800_000)
    assert instant == datetime(2025, 11, 22, 8, 26, 40, tzinfo=UTC)
    assert to_epoch(instant) == 1_763_800_000
    assert from_epoch(Decimal("1763800000.5")).microsecond == 500_000
    with pytest.raises(TypeError):
        from_epoch(1_763_800_000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timezone-aware"):
        to_epoch(datetime(2025, 11, 22, 8, 26, 40))  # noqa: DTZ001
