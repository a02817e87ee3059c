"""Money input: one strict grammar (billing.money.parse_amount) and its regular expression.

ASCII digits, at most one point with at most the currency's minor digits after it, a minus
only where the sign allows one. The API document's pattern is the same grammar: for any text,
the pattern matches exactly when the parser accepts.
"""

import contextlib
import re

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.billing.money import (
    MAX_AMOUNT_MINOR,
    MAX_AMOUNT_TEXT,
    AmountError,
    AmountSign,
    amount_pattern,
    format_minor,
    parse_amount,
)

CURRENCIES = ("EUR", "JPY", "KWD")
# Text made mostly of the grammar's own characters, so the interesting borders get hit.
GRAMMAR_TEXT = st.text(alphabet="0123456789.-", max_size=20) | st.text(
    alphabet=st.sampled_from("0123456789.-+e,_ \t\n\u0661\u0662\uff13\u0663\uff10NaInfity"),
    max_size=12,
)


@pytest.mark.parametrize(
    ("text", "currency", "sign", "minor"),
    [
        ("10", "EUR", AmountSign.POSITIVE, 1000),
        ("10.5", "EUR", AmountSign.POSITIVE, 1050),
        ("10.50", "EUR", AmountSign.POSITIVE, 1050),
        ("0.01", "EUR", AmountSign.POSITIVE, 1),
        ("007.00", "EUR", AmountSign.POSITIVE, 700),
        ("-2.50", "EUR", AmountSign.NONZERO, -250),
        ("0", "EUR", AmountSign.NON_NEGATIVE, 0),
        ("-0.00", "EUR", AmountSign.ANY, 0),
        ("1000", "JPY", AmountSign.POSITIVE, 1000),
        ("1.234", "KWD", AmountSign.POSITIVE, 1234),
        ("9999999999999.99", "EUR", AmountSign.POSITIVE, MAX_AMOUNT_MINOR - 1),
    ],
)
def test_amounts_in_the_grammar(text: str, currency: str, sign: AmountSign, minor: int) -> None:
    assert parse_amount(text, currency, sign) == minor


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1e2", "not a decimal number"),
        ("1E2", "not a decimal number"),
        ("1_000", "not a decimal number"),
        ("1,000", "not a decimal number"),
        ("+5", "not a decimal number"),
        (".5", "not a decimal number"),
        ("5.", "not a decimal number"),
        ("1.2.3", "not a decimal number"),
        ("\u0661\u0662", "not a decimal number"),  # Arabic-Indic digits
        ("\uff11\uff12", "not a decimal number"),  # full-width digits
        ("\u0663.\u0660\u0660", "not a decimal number"),
        (" 5", "not a decimal number"),
        ("5 ", "not a decimal number"),
        ("5\n", "not a decimal number"),
        ("1 000", "not a decimal number"),
        ("5\u00a0", "not a decimal number"),
        ("NaN", "not a decimal number"),
        ("Infinity", "not a decimal number"),
        ("-Infinity", "not a decimal number"),
        ("", "not a decimal number"),
        ("--5", "not a decimal number"),
        ("0x10", "not a decimal number"),
        ("1" * (MAX_AMOUNT_TEXT + 1), "not a decimal number"),
        ("10.005", "more decimals than EUR allows (2)"),
        ("10.500", "more decimals than EUR allows (2)"),
        ("10000000000000", "implausibly large"),
        ("0.00", "must not be zero"),
        ("-5.00", "must be positive"),
    ],
)
def test_everything_else_is_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(AmountError) as refused:
        parse_amount(text, "EUR", AmountSign.POSITIVE)
    assert fragment in refused.value.message


def test_the_sign_decides_where_minus_and_zero_are_allowed() -> None:
    assert parse_amount("-1", "EUR", AmountSign.NONZERO) == -100
    with pytest.raises(AmountError, match="must not be negative"):
        parse_amount("-1", "EUR", AmountSign.NON_NEGATIVE)
    with pytest.raises(AmountError, match="must not be zero"):
        parse_amount("-0", "EUR", AmountSign.NONZERO)
    assert parse_amount("0", "EUR", AmountSign.NON_NEGATIVE) == 0
    with pytest.raises(AmountError, match="more decimals than JPY allows"):
        parse_amount("100.0", "JPY")


@settings(max_examples=500)
@given(
    text=GRAMMAR_TEXT,
    currency=st.sampled_from(CURRENCIES),
    sign=st.sampled_from(AmountSign),
)
def test_the_document_pattern_is_the_parser(text: str, currency: str, sign: AmountSign) -> None:
    matches = len(text) <= MAX_AMOUNT_TEXT and re.fullmatch(amount_pattern(currency, sign), text)
    try:
        parse_amount(text, currency, sign)
    except AmountError:
        assert not matches, text
    else:
        assert matches, text


@given(
    minor=st.integers(min_value=-(MAX_AMOUNT_MINOR - 1), max_value=MAX_AMOUNT_MINOR - 1),
    currency=st.sampled_from(CURRENCIES),
)
def test_every_formatted_amount_reads_back_exactly(minor: int, currency: str) -> None:
    assert parse_amount(format_minor(minor, currency), currency, AmountSign.ANY) == minor


@given(text=st.text(max_size=40), currency=st.sampled_from(CURRENCIES))
def test_any_text_is_an_amount_or_a_refusal(text: str, currency: str) -> None:
    minor: int | None = None
    with contextlib.suppress(AmountError):
        minor = parse_amount(text, currency, AmountSign.ANY)
    if minor is not None:
        assert abs(minor) < MAX_AMOUNT_MINOR
        assert text.isascii()
