"""Pricing lines into money: each line rounded once, tax per rate on the net, total = net + tax."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from tenant_ledger.billing.money import Money, round_half_up


class ChargeLine(Protocol):
    """Anything a statement charges for: energy, standing charge, a common-area share."""

    @property
    def label(self) -> str: ...

    @property
    def tax_rate(self) -> Decimal: ...

    @property
    def exact_amount(self) -> Fraction: ...


@dataclass(frozen=True, kw_only=True)
class PricedLine:
    line: ChargeLine
    amount: Money


@dataclass(frozen=True, kw_only=True)
class TaxLine:
    rate: Decimal
    base: Money
    tax: Money


@dataclass(frozen=True, kw_only=True)
class Charges:
    currency: str
    lines: tuple[PricedLine, ...]
    net: Money
    taxes: tuple[TaxLine, ...]
    tax: Money
    total: Money


def price(lines: Iterable[ChargeLine], currency: str) -> Charges:
    """Round each line half-up, sum the net, tax each rate's net once: tax = round(net x rate).

    With one tax rate (the usual case) that is exactly ``tax = round(net x rate)``; a rate change
    inside the period taxes each rate's share of the net separately.
    """
    priced = tuple(
        PricedLine(line=line, amount=Money.of(line.exact_amount, currency)) for line in lines
    )
    bases: dict[Decimal, int] = {}
    for item in priced:
        bases[item.line.tax_rate] = bases.get(item.line.tax_rate, 0) + item.amount.minor
    taxes = tuple(
        TaxLine(
            rate=rate,
            base=Money(currency=currency, minor=base),
            tax=Money(currency=currency, minor=round_half_up(Fraction(rate) * base)),
        )
        for rate, base in bases.items()
    )
    net = sum((item.amount for item in priced), Money.zero(currency))
    tax = sum((line.tax for line in taxes), Money.zero(currency))
    return Charges(currency=currency, lines=priced, net=net, taxes=taxes, tax=tax, total=net + tax)


def exact_gross(lines: Iterable[ChargeLine]) -> Fraction:
    """Exact amount including tax, never rounded: what prepaid running postings feed on."""
    return sum((line.exact_amount * (1 + Fraction(line.tax_rate)) for line in lines), Fraction(0))
