"""Statements: one tenant, one period, every number traceable to raw readings and the tariff.

``build_statement`` is a pure function of its inputs, so a statement can be rebuilt at any time
from the stored readings and gives the same result to the minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

from tenant_ledger.billing.allocation import AllocationLine
from tenant_ledger.billing.charges import ChargeLine, Charges, PricedLine, price
from tenant_ledger.billing.money import Money, round_half_up
from tenant_ledger.billing.quota import Quota
from tenant_ledger.billing.rating import Rating, rate
from tenant_ledger.billing.readings import (
    ConsumptionEvent,
    MeterReplacement,
    Reading,
    consumption,
)
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.tariffs import TariffSchedule
from tenant_ledger.billing.tenancy import Assignment, occupancy, tenant_intervals, tenant_windows
from tenant_ledger.billing.timestamps import to_us


class CreditKind(StrEnum):
    TOP_UP = "top_up"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"
    """A top-up or adjustment undone (the negated amount)."""


@dataclass(frozen=True, kw_only=True)
class Credit:
    """Money into the account (a top-up or payment) or an adjustment of either sign."""

    ts: datetime
    kind: CreditKind
    amount: Money
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class PointSummary:
    """A metering point as the tenant held it: first and last reading, energy, events."""

    point_id: str
    first_reading: Reading | None
    last_reading: Reading | None
    energy_wh: int
    events: tuple[ConsumptionEvent, ...]


@dataclass(frozen=True, kw_only=True)
class ResourceBilling:
    """A resource besides electricity the tenant's plan bills: its points, readings, tariff.

    Readings and points are of this resource only; usage is in its base unit (L for water and
    gas, Wh for heat), priced per 1000 base units like electricity's kWh.
    """

    resource: Resource
    schedule: TariffSchedule
    readings: tuple[Reading, ...]
    assignments: tuple[Assignment, ...]
    quota: Quota | None = None
    replacements: tuple[MeterReplacement, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ResourceSection:
    """One resource's part of a statement: its points, usage, priced lines and their net."""

    resource: Resource
    points: tuple[PointSummary, ...]
    usage: int
    """Base units (Wh or L) the tenant used in the period."""
    lines: tuple[PricedLine, ...]
    subtotal: Money
    """The lines' net: each line rounded once, tax on the statement's whole net."""


@dataclass(frozen=True, kw_only=True)
class Statement:
    tenant_id: str
    currency: str
    start: datetime
    end: datetime
    opening_balance: Money
    points: tuple[PointSummary, ...]
    energy_wh: int
    charges: Charges
    credits: tuple[Credit, ...]
    closing_balance: Money
    sections: tuple[ResourceSection, ...] = ()
    """The resources besides electricity, in ``Resource`` order; electricity (with the
    common-area shares) is ``points``, ``energy_wh`` and the rest of ``charges.lines``."""


def build_statement(
    *,
    tenant_id: str,
    start: datetime,
    end: datetime,
    schedule: TariffSchedule,
    readings: Iterable[Reading],
    assignments: Sequence[Assignment],
    opening_balance: Money,
    replacements: Iterable[MeterReplacement] = (),
    credits: Sequence[Credit] = (),
    allocations: Sequence[AllocationLine] = (),
    quota: Quota | None = None,
    others: Sequence[ResourceBilling] = (),
) -> Statement:
    """The tenant's statement for [start, end).

    Energy: the tenant's points while assigned to it, rated by ``schedule``. Standing charge:
    the time the tenant held any point. ``allocations``: the tenant's common-area and loss
    shares. ``credits``: those since the previous statement, none after ``end``. Balance:
    closing = opening + credits - total (positive = in credit).

    ``readings`` and ``assignments`` are electricity's; ``others`` each bill one more resource
    (its own points, usage and standing charge) in a section of its own. All lines are priced
    together: one net, tax per rate on it, one total.
    """
    currency = schedule.currency
    end_us = to_us(end)
    for credit in credits:
        # Credits since the previous statement: one dated before ``start`` (between two
        # statements' periods) is still shown, one after ``end`` belongs to the next statement.
        if to_us(credit.ts) >= end_us or credit.amount.currency != currency:
            raise ValueError(f"credit at {credit.ts} is after the period or not in {currency}")
    rating, points = _rate_resource(
        tenant_id,
        start=start,
        end=end,
        schedule=schedule,
        readings=readings,
        assignments=assignments,
        replacements=replacements,
        quota=quota,
    )
    others_rated = [
        (
            other,
            *_rate_resource(
                tenant_id,
                start=start,
                end=end,
                schedule=other.schedule,
                readings=other.readings,
                assignments=other.assignments,
                replacements=other.replacements,
                quota=other.quota,
            ),
        )
        for other in sorted(others, key=lambda item: list(Resource).index(item.resource))
    ]
    if any(other.schedule.currency != currency for other, _, _ in others_rated):
        raise ValueError(f"every tariff of a statement must be in {currency}")
    other_lines: list[ChargeLine] = []
    for _, other_rating, _ in others_rated:
        other_lines += [*other_rating.energy_lines, *other_rating.standing_lines]
    charges = price(
        [*rating.energy_lines, *rating.standing_lines, *allocations, *other_lines], currency
    )
    sections = []
    offset = len(rating.energy_lines) + len(rating.standing_lines) + len(allocations)
    for other, other_rating, other_points in others_rated:
        count = len(other_rating.energy_lines) + len(other_rating.standing_lines)
        lines = charges.lines[offset : offset + count]
        offset += count
        sections.append(
            ResourceSection(
                resource=other.resource,
                points=other_points,
                usage=other_rating.energy_wh,
                lines=lines,
                subtotal=sum((item.amount for item in lines), Money.zero(currency)),
            )
        )
    paid_in = sum((credit.amount for credit in credits), Money.zero(currency))
    return Statement(
        tenant_id=tenant_id,
        currency=currency,
        start=start,
        end=end,
        opening_balance=opening_balance,
        points=points,
        energy_wh=rating.energy_wh,
        charges=charges,
        credits=tuple(sorted(credits, key=lambda credit: to_us(credit.ts))),
        closing_balance=opening_balance + paid_in - charges.total,
        sections=tuple(sections),
    )


def _rate_resource(
    tenant_id: str,
    *,
    start: datetime,
    end: datetime,
    schedule: TariffSchedule,
    readings: Iterable[Reading],
    assignments: Sequence[Assignment],
    replacements: Iterable[MeterReplacement],
    quota: Quota | None,
) -> tuple[Rating, tuple[PointSummary, ...]]:
    """One resource's rating (usage and standing charge) and the tenant's points of it."""
    consumptions = consumption(readings, replacements)
    intervals = tenant_intervals(consumptions, assignments, tenant_id, start=start, end=end)
    rating = rate(
        intervals,
        schedule,
        start=start,
        end=end,
        occupied=occupancy(assignments, tenant_id, start=start, end=end),
        quota=quota,
    )
    points = []
    for point_id, windows in tenant_windows(assignments, tenant_id, start=start, end=end).items():
        bounds = [(to_us(begin), to_us(finish)) for begin, finish in windows]
        point = consumptions.get(point_id)
        held = [
            reading
            for reading in (() if point is None else point.readings)
            if any(begin <= reading.ts_us <= finish for begin, finish in bounds)
        ]
        points.append(
            PointSummary(
                point_id=point_id,
                first_reading=held[0] if held else None,
                last_reading=held[-1] if held else None,
                energy_wh=sum(part.energy_wh for part in intervals if part.point_id == point_id),
                events=tuple(
                    event
                    for event in (() if point is None else point.events)
                    if any(begin <= to_us(event.ts) <= finish for begin, finish in bounds)
                ),
            )
        )
    return rating, tuple(points)


def validate_statement(statement: Statement) -> list[str]:
    """Arithmetic a statement must satisfy; empty when it adds up."""
    charges = statement.charges
    zero = Money.zero(statement.currency)
    line_sum = sum((line.amount for line in charges.lines), zero)
    base_sum = sum((tax.base for tax in charges.taxes), zero)
    tax_sum = sum((tax.tax for tax in charges.taxes), zero)
    credit_sum = sum((credit.amount for credit in statement.credits), zero)
    point_energy = sum(point.energy_wh for point in statement.points)
    checks = [
        (line_sum == charges.net, "lines do not add up to the net"),
        (base_sum == charges.net, "tax bases do not add up to the net"),
        (tax_sum == charges.tax, "tax lines do not add up to the tax"),
        (
            all(
                tax.tax.minor == round_half_up(Fraction(tax.rate) * tax.base.minor)
                for tax in charges.taxes
            ),
            "a tax line is not round(base x rate)",
        ),
        (charges.total == charges.net + charges.tax, "total is not net + tax"),
        (
            statement.closing_balance == statement.opening_balance + credit_sum - charges.total,
            "closing balance is not opening + credits - total",
        ),
        (point_energy == statement.energy_wh, "point energies do not add up to the energy"),
        *(
            check
            for section in statement.sections
            for check in (
                (
                    sum(point.energy_wh for point in section.points) == section.usage,
                    f"{section.resource} point usages do not add up to its usage",
                ),
                (
                    sum((item.amount for item in section.lines), zero) == section.subtotal,
                    f"{section.resource} lines do not add up to its subtotal",
                ),
            )
        ),
    ]
    return [problem for holds, problem in checks if not holds]
