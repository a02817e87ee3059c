"""Money: the one place that converts between exact amounts and integer minor units.

Storage and postings use integer minor units (cents, fils, yen). Exact amounts (energy times a
price) are ``Fraction``s so that no intermediate step ever rounds; they are rounded once,
half-up (halves towards +infinity, see ``round_half_up``), when they become a line or a
posting. Binary floats are refused everywhere: they cannot represent 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction
import re

# ISO 4217 minor-unit exponents ("minor unit" column of list one), as "exponent: codes" rows.
# Funds codes and the four-decimal accounting units (CLF, UYW) are left out: nobody pays an
# electricity bill in them.
_ISO_4217_MINOR_UNITS = """
0: BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
3: BHD IQD JOD KWD LYD OMR TND
2: AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN
2: BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
2: GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR
2: LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD
2: PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
2: SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD XCG YER ZAR ZMW
2: ZWG
"""
CURRENCY_EXPONENTS: dict[str, int] = {
    code: int(exponent)
    for exponent, codes in (row.split(":") for row in _ISO_4217_MINOR_UNITS.strip().splitlines())
    for code in codes.split()
}

type ExactAmount = Fraction | Decimal | int
"""What the billing code may hand to money: anything exact. Never ``float``."""


def currency_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (EUR 2, JPY 0, KWD 3)."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r} (expected an ISO 4217 code)") from None


def exact(value: ExactAmount) -> Fraction:
    """``value`` as a Fraction, refusing floats (and bools) with TypeError at the boundary."""
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TypeError(f"money needs an exact number (Decimal, int, Fraction), not {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"not a finite amount: {value}")
    return Fraction(value)


MAX_AMOUNT_MINOR = 10**15
"""Amounts people type stay below this many minor units (far beyond any bill, inside 64 bits)."""
MAX_AMOUNT_TEXT = 32
"""Longest amount text accepted (leading zeros included)."""

_DECIMAL_TEXT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)


class AmountSign(Enum):
    """Which amounts an input takes: the sign and whether zero is meaningful."""

    POSITIVE = "positive"
    """Money paid in: above zero, no minus."""
    NONZERO = "nonzero"
    """A correction: either sign, never zero."""
    NON_NEGATIVE = "non_negative"
    """A limit: zero or more, no minus."""
    ANY = "any"
    """A threshold: any sign, zero included."""

    @property
    def signed(self) -> bool:
        return self in (AmountSign.NONZERO, AmountSign.ANY)

    @property
    def zero(self) -> bool:
        return self in (AmountSign.NON_NEGATIVE, AmountSign.ANY)


class AmountError(ValueError):
    """Text that is not an amount in the money grammar; ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def parse_amount(text: str, currency: str, sign: AmountSign = AmountSign.ANY) -> int:
    """The one grammar for amounts people send or type, as integer minor units of ``currency``.

    ASCII digits with at most one decimal point and at most the currency's minor digits after
    it (``10``, ``10.5``, ``10.50`` in EUR; ``1000`` in JPY), and a leading minus only where
    ``sign`` allows one. Nothing else: no exponent (``1e2``), grouping (``1_000``, ``1,000``),
    plus sign, bare point (``.5``, ``5.``), other scripts' digits, spaces, NaN or Infinity.
    ``amount_pattern`` states the same grammar as a regular expression for the API document.
    """
    match = _DECIMAL_TEXT.fullmatch(text) if len(text) <= MAX_AMOUNT_TEXT else None
    if match is None:
        raise AmountError(
            "invalid_amount",
            f"is not a decimal number: {text[:40]!r} (write ASCII digits with at most one "
            "point, like 10.00)",
        )
    minus, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    places = currency_exponent(currency)
    if len(fraction) > places:
        raise AmountError("invalid_amount", f"has more decimals than {currency} allows ({places})")
    magnitude = int(whole + fraction.ljust(places, "0"))
    if magnitude >= MAX_AMOUNT_MINOR:
        raise AmountError("invalid_amount", "is implausibly large")
    minor = -magnitude if minus else magnitude
    if minor == 0 and not sign.zero:
        raise AmountError("invalid", "must not be zero")
    if minus and not sign.signed:
        message = "must be positive" if sign is AmountSign.POSITIVE else "must not be negative"
        raise AmountError("invalid", message)
    return minor


def amount_pattern(currency: str, sign: AmountSign) -> str:
    """``parse_amount``'s grammar for ``currency`` and ``sign`` as an anchored regular expression.

    Written for JSON Schema (ECMA-262) and Python alike: no look-arounds, ASCII classes only.
    """
    places = currency_exponent(currency)
    whole_digits = len(str(MAX_AMOUNT_MINOR - 1)) - places
    minus = "-?" if sign.signed else ""
    fraction = rf"(\.[0-9]{{1,{places}}})?" if places else ""
    if sign.zero:
        return rf"^{minus}0*[0-9]{{1,{whole_digits}}}{fraction}$"
    # Not zero: a non-zero whole part, or a zero whole part and a fraction with a non-zero digit.
    nonzero_whole = rf"0*[1-9][0-9]{{0,{whole_digits - 1}}}{fraction}"
    if not places:
        return rf"^{minus}{nonzero_whole}$"
    nonzero_fraction = "|".join(
        f"{'0' * zeros}[1-9][0-9]{{0,{places - 1 - zeros}}}" for zeros in range(places)
    )
    return rf"^{minus}({nonzero_whole}|0+\.({nonzero_fraction}))$"


def round_half_up(value: Fraction) -> int:
    """Nearest integer, halves upwards (2.5 -> 3, -2.5 -> -2).

    Rounding halves towards +infinity rather than away from zero keeps ``round(x + n) ==
    round(x) + n`` for whole ``n``, which is what lets carried postings (refunds included)
    always add up to the exact total rounded once.
    """
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def to_minor(amount: ExactAmount, currency: str) -> int:
    """Round an exact major-unit amount half-up to integer minor units."""
    return round_half_up(exact(amount) * 10 ** currency_exponent(currency))


def format_minor(minor: int, currency: str) -> str:
    """Minor units as a plain decimal string with the currency's exponent: 1234 EUR -> '12.34'."""
    places = currency_exponent(currency)
    digits = str(abs(minor)).rjust(places + 1, "0")
    sign = "-" if minor < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


@dataclass(frozen=True, kw_only=True, slots=True)
class Money:
    """An amount of one currency in integer minor units; arithmetic refuses to mix currencies."""

    currency: str
    minor: int

    def __post_init__(self) -> None:
        currency_exponent(self.currency)
        if type(self.minor) is not int:
            raise TypeError(f"minor units must be an int, not {self.minor!r}")

    @classmethod
    def of(cls, amount: ExactAmount | str, currency: str) -> Money:
        """The one constructor from a major-unit amount ('12.345' EUR -> 12.35), rounded half-up."""
        value = Decimal(amount) if isinstance(amount, str) else amount
        return cls(currency=currency, minor=to_minor(value, currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(currency=currency, minor=0)

    @property
    def amount(self) -> Decimal:
        """Exact major-unit value, for display and APIs."""
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def __str__(self) -> str:
        return format_minor(self.minor, self.currency)

    def _same(self, other: Money) -> Money:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(currency=self.currency, minor=self.minor + self._same(other).minor)

    def __sub__(self, other: Money) -> Money:
        return Money(currency=self.currency, minor=self.minor - self._same(other).minor)

    def __neg__(self) -> Money:
        return Money(currency=self.currency, minor=-self.minor)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor


@dataclass(frozen=True, kw_only=True, slots=True)
class PostingAccumulator:
    """Turns a stream of exact charges into integer postings that never drift.

    After any sequence of ``post`` calls the posted minor units equal the exact running total
    rounded once. Only the ``carry`` in minor units (from -1/2 up to, not including, +1/2)
    needs storing between postings; ``str(carry)`` / ``Fraction(text)`` round-trips it. Start a
    fresh accumulator (carry 0) at each billing period so the period closes on the rounded total.
    """

    currency: str
    carry: Fraction = Fraction(0)

    def post(self, amount: ExactAmount) -> tuple[int, PostingAccumulator]:
        """Minor units to post now for ``amount``, and the accumulator to use next time."""
        owed = self.carry + exact(amount) * 10 ** currency_exponent(self.currency)
        posting = round_half_up(owed)
        return posting, PostingAccumulator(currency=self.currency, carry=owed - posting)
