"""Money: the one place that converts between exact amounts and integer minor units.

Storage and postings use integer minor units (cents, fils, yen). Exact amounts (energy times a
price) are ``Fraction``s so that no intermediate step ever rounds; they are rounded once,
half-up (halves towards +infinity, see ``round_half_up``), when they become a line or a
posting. Binary floats are refused everywhere: they cannot represent 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

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
