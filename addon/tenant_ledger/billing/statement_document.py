"""The statement as a tenant reads it: one typed document, built once, rendered many ways.

``build_document`` turns the engine's ``Statement`` (what the period costs) plus who issues it
to whom into a ``StatementDocument``. The API's JSON, CSV, HTML and PDF are all drawn from
this one document, and so is the preview of a period still open. The document adds up by
construction and ``validate_document`` proves it::

    closing = opening + credits - total - late readings
    total   = net + tax,  net = Σ charge lines,  tax = Σ round(base x rate)

Money is integer minor units, energy integer Wh, dates local calendar dates. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from tenant_ledger.billing.allocation import AllocationLine
from tenant_ledger.billing.money import format_minor, round_half_up, to_minor
from tenant_ledger.billing.rating import EnergyLine, StandingLine
from tenant_ledger.billing.readings import Interval, format_kwh
from tenant_ledger.billing.resources import Resource, billing_unit
from tenant_ledger.billing.statements import CreditKind, PointSummary, Statement
from tenant_ledger.billing.timestamps import to_us

SCHEMA = 2
"""Version of the stored and served document (1: the free-form JSON before 0.3.0)."""


class ChargeKind(StrEnum):
    ENERGY = "energy"
    """Energy priced in one band (``label``: the band)."""
    STANDING = "standing"
    SHARED = "shared"
    """A share of a common load."""
    LATE = "late"
    """Energy of readings that arrived after their period's statement."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargeRow:
    """One priced line: energy in a band, the standing charge, a shared cost or late energy."""

    kind: ChargeKind
    label: str
    quantity: Decimal  # kWh or m³ (the resource's billing unit), or days
    unit: str  # "kWh" | "m³" | "day"
    unit_price: Decimal | None
    amount_minor: int
    resource: Resource = Resource.ELECTRICITY


@dataclass(frozen=True, kw_only=True, slots=True)
class TaxRow:
    name: str
    rate: Decimal
    base_minor: int
    tax_minor: int

    @property
    def percent(self) -> Decimal:
        return (self.rate * 100).normalize()


@dataclass(frozen=True, kw_only=True, slots=True)
class CreditRow:
    day: date
    kind: CreditKind
    description: str
    amount_minor: int


@dataclass(frozen=True, kw_only=True, slots=True)
class MeterReading:
    at: datetime  # local time
    energy_wh: int


@dataclass(frozen=True, kw_only=True, slots=True)
class MeterRow:
    point_id: str
    name: str
    first: MeterReading | None
    last: MeterReading | None
    energy_wh: int
    events: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class SectionRow:
    """One resource's part of the statement: its meters, usage and the net of its lines.

    Its charge rows are those of ``StatementDocument.charges`` with its ``resource``.
    """

    resource: Resource
    usage: int
    """Base units (Wh or L); shown in the billing unit (kWh or m³)."""
    meters: tuple[MeterRow, ...]
    subtotal_minor: int


@dataclass(frozen=True, kw_only=True, slots=True)
class UsageDay:
    day: date
    energy_wh: int


@dataclass(frozen=True, kw_only=True, slots=True)
class Issuer:
    """Who issues statements (the add-on's landlord options) and how they name the tax."""

    name: str
    address: str
    tax_name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StatementDocument:
    number: str | None
    """The statement's number; None for a preview of a period still open."""
    issuer: Issuer
    tenant_id: str
    tenant_name: str
    rooms: tuple[str, ...]
    currency: str
    period_first_day: date
    period_last_day: date
    """Last local day covered (for a preview: the day the preview was made)."""
    issued_on: date
    due_on: date
    opening_minor: int
    charges: tuple[ChargeRow, ...]
    net_minor: int
    taxes: tuple[TaxRow, ...]
    tax_minor: int
    total_minor: int
    late: tuple[ChargeRow, ...]
    """Energy of earlier, already issued periods that arrived after their statement (gross)."""
    credits: tuple[CreditRow, ...]
    closing_minor: int
    energy_wh: int
    meters: tuple[MeterRow, ...]
    usage: tuple[UsageDay, ...]
    sections: tuple[SectionRow, ...] = ()
    """One per resource, electricity first, when the tenant is billed for more than
    electricity (empty otherwise: ``energy_wh`` and ``meters`` are then the whole story)."""

    @property
    def preview(self) -> bool:
        return self.number is None

    @property
    def credits_minor(self) -> int:
        return sum(credit.amount_minor for credit in self.credits)

    @property
    def late_minor(self) -> int:
        return sum(row.amount_minor for row in self.late)


@dataclass(frozen=True, kw_only=True, slots=True)
class LateEnergy:
    """Energy (and its posted gross amount) an issued period received after its statement."""

    period_first_day: date
    energy_wh: int
    """Base units of ``resource`` (Wh or L)."""
    amount_minor: int
    resource: Resource = Resource.ELECTRICITY


def _kwh(energy_wh: int) -> Decimal:
    """kWh with the three decimals that make it exact Wh."""
    return (Decimal(energy_wh) / 1000).quantize(Decimal("0.001"))


def _charge_row(
    line: Any, amount_minor: int, resource: Resource = Resource.ELECTRICITY
) -> ChargeRow:
    if isinstance(line, EnergyLine):
        return ChargeRow(
            kind=ChargeKind.ENERGY,
            label=line.label,
            quantity=_kwh(line.energy_wh),
            unit=billing_unit(resource),
            unit_price=line.unit_price,
            amount_minor=amount_minor,
            resource=resource,
        )
    if isinstance(line, StandingLine):
        days = Decimal(line.days.numerator) / Decimal(line.days.denominator)
        return ChargeRow(
            kind=ChargeKind.STANDING,
            label=line.label,
            quantity=days.quantize(Decimal("0.01")),
            unit="day",
            unit_price=line.daily_charge,
            amount_minor=amount_minor,
            resource=resource,
        )
    if isinstance(line, AllocationLine):
        return ChargeRow(
            kind=ChargeKind.SHARED,
            label=line.label,
            quantity=_kwh(line.energy_wh),
            unit=billing_unit(line.resource),
            unit_price=None,
            amount_minor=amount_minor,
        )
    raise TypeError(f"no statement row for {type(line).__name__}")


def due_date(issued_on: date, due_days: int) -> date:
    """Payable ``due_days`` after issue, and always after the issue date."""
    return issued_on + timedelta(days=max(due_days, 1))


def build_document(
    statement: Statement,
    *,
    number: str | None,
    issuer: Issuer,
    tenant_name: str,
    point_names: dict[str, str],
    zone: ZoneInfo,
    issued: datetime,
    due_days: int,
    late: tuple[LateEnergy, ...] = (),
    usage: tuple[UsageDay, ...] = (),
) -> StatementDocument:
    """The tenant's document for ``statement`` (the whole story of the period's money)."""
    currency = statement.currency
    charges = statement.charges
    late_rows = tuple(
        ChargeRow(
            kind=ChargeKind.LATE,
            label=f"late readings for {item.period_first_day.isoformat()}",
            quantity=_kwh(item.energy_wh),
            unit=billing_unit(item.resource),
            unit_price=None,
            amount_minor=item.amount_minor,
            resource=item.resource,
        )
        for item in late
    )
    credits = tuple(
        CreditRow(
            day=credit.ts.astimezone(zone).date(),
            kind=credit.kind,
            description=credit.description,
            amount_minor=credit.amount.minor,
        )
        for credit in statement.credits
    )
    issued_on = issued.astimezone(zone).date()
    electricity = Resource.ELECTRICITY
    resource_of = {id(item): s.resource for s in statement.sections for item in s.lines}
    closing = (
        statement.opening_balance.minor
        + sum(credit.amount_minor for credit in credits)
        - charges.total.minor
        - sum(row.amount_minor for row in late_rows)
    )
    return StatementDocument(
        number=number,
        issuer=issuer,
        tenant_id=statement.tenant_id,
        tenant_name=tenant_name,
        rooms=tuple(point_names.get(p.point_id, p.point_id) for p in statement.points),
        currency=currency,
        period_first_day=statement.start.astimezone(zone).date(),
        period_last_day=(statement.end.astimezone(zone) - timedelta(microseconds=1)).date(),
        issued_on=issued_on,
        due_on=due_date(issued_on, due_days),
        opening_minor=statement.opening_balance.minor,
        charges=tuple(
            _charge_row(item.line, item.amount.minor, resource_of.get(id(item), electricity))
            for item in charges.lines
        ),
        net_minor=charges.net.minor,
        taxes=tuple(
            TaxRow(
                name=issuer.tax_name,
                rate=tax.rate,
                base_minor=tax.base.minor,
                tax_minor=tax.tax.minor,
            )
            for tax in charges.taxes
            if tax.rate
        ),
        tax_minor=charges.tax.minor,
        total_minor=charges.total.minor,
        late=late_rows,
        credits=credits,
        closing_minor=closing,
        energy_wh=statement.energy_wh,
        meters=_meter_rows(statement.points, point_names, zone),
        usage=usage,
        sections=_sections(statement, point_names, zone),
    )


def _meter_rows(
    points: tuple[PointSummary, ...], point_names: dict[str, str], zone: ZoneInfo
) -> tuple[MeterRow, ...]:
    return tuple(
        MeterRow(
            point_id=p.point_id,
            name=point_names.get(p.point_id, p.point_id),
            first=None
            if p.first_reading is None
            else MeterReading(
                at=p.first_reading.ts.astimezone(zone), energy_wh=p.first_reading.energy_wh
            ),
            last=None
            if p.last_reading is None
            else MeterReading(
                at=p.last_reading.ts.astimezone(zone), energy_wh=p.last_reading.energy_wh
            ),
            energy_wh=p.energy_wh,
            events=tuple(
                f"{event.ts.astimezone(zone):%Y-%m-%d %H:%M} {event.kind.value}"
                for event in p.events
            ),
        )
        for p in points
    )


def _sections(
    statement: Statement, point_names: dict[str, str], zone: ZoneInfo
) -> tuple[SectionRow, ...]:
    """Electricity (with the common-area shares) and each other resource; none when the
    statement bills electricity alone."""
    if not statement.sections:
        return ()
    others = [
        SectionRow(
            resource=section.resource,
            usage=section.usage,
            meters=_meter_rows(section.points, point_names, zone),
            subtotal_minor=section.subtotal.minor,
        )
        for section in statement.sections
    ]
    electricity = SectionRow(
        resource=Resource.ELECTRICITY,
        usage=statement.energy_wh,
        meters=_meter_rows(statement.points, point_names, zone),
        subtotal_minor=statement.charges.net.minor - sum(row.subtotal_minor for row in others),
    )
    return (electricity, *others)


def validate_document(document: StatementDocument) -> list[str]:
    """Arithmetic every statement satisfies; empty when every number adds up."""
    checks = [
        (
            sum(row.amount_minor for row in document.charges) == document.net_minor,
            "charge lines do not add up to the net",
        ),
        (
            sum(tax.tax_minor for tax in document.taxes) == document.tax_minor,
            "tax lines do not add up to the tax",
        ),
        (
            all(
                tax.tax_minor == round_half_up(Fraction(tax.rate) * tax.base_minor)
                for tax in document.taxes
            ),
            "a tax line is not round(base x rate)",
        ),
        (
            sum(tax.base_minor for tax in document.taxes) <= document.net_minor
            or not document.taxes,
            "tax bases exceed the net",
        ),
        (document.total_minor == document.net_minor + document.tax_minor, "total != net + tax"),
        (
            document.closing_minor
            == document.opening_minor
            + document.credits_minor
            - document.total_minor
            - document.late_minor,
            "closing != opening + credits - total - late readings",
        ),
        (document.due_on > document.issued_on, "due date is not after the issue date"),
        (
            not document.sections
            or sum(section.subtotal_minor for section in document.sections) == document.net_minor,
            "resource subtotals do not add up to the net",
        ),
        *(
            (
                sum(
                    row.amount_minor for row in document.charges if row.resource is section.resource
                )
                == section.subtotal_minor,
                f"{section.resource} lines do not add up to its subtotal",
            )
            for section in document.sections
        ),
    ]
    return [problem for holds, problem in checks if not holds]


# -- the public JSON (API, storage) -------------------------------------------------------------


def _row_json(row: ChargeRow, currency: str) -> dict[str, Any]:
    found = {
        "kind": row.kind,
        "label": row.label,
        "quantity": str(row.quantity),
        "unit": row.unit,
        "unit_price": None if row.unit_price is None else str(row.unit_price),
        "amount": format_minor(row.amount_minor, currency),
    }
    if row.resource is not Resource.ELECTRICITY:  # electricity rows keep their old shape
        found["resource"] = row.resource.value
    return found


def _meter_json(meter: MeterRow, key: str) -> dict[str, Any]:
    """A meter with its readings and usage under ``key`` ("energy_kwh" or "usage")."""

    def reading(value: MeterReading | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"time": value.at.isoformat(), key: format_kwh(value.energy_wh)}

    return {
        "point": meter.point_id,
        "name": meter.name,
        "first": reading(meter.first),
        "last": reading(meter.last),
        key: format_kwh(meter.energy_wh),
        "events": list(meter.events),
    }


def _meter_of(data: dict[str, Any], key: str) -> MeterRow:
    def reading(value: dict[str, Any] | None) -> MeterReading | None:
        if value is None:
            return None
        return MeterReading(
            at=datetime.fromisoformat(value["time"]), energy_wh=_base_units(value[key])
        )

    return MeterRow(
        point_id=data["point"],
        name=data["name"],
        first=reading(data["first"]),
        last=reading(data["last"]),
        energy_wh=_base_units(data[key]),
        events=tuple(data["events"]),
    )


def _base_units(text: str) -> int:
    """Whole base units back from a billing-unit figure with three decimals ('1.234' -> 1234)."""
    return int(Decimal(text) * 1000)


def _reading_json(reading: MeterReading | None) -> dict[str, Any] | None:
    if reading is None:
        return None
    return {"time": reading.at.isoformat(), "energy_kwh": format_kwh(reading.energy_wh)}


def to_json(document: StatementDocument) -> dict[str, Any]:
    """The document as the API serves it: decimal strings for money, ISO dates."""
    currency = document.currency

    def money(minor: int) -> str:
        return format_minor(minor, currency)

    return {
        "schema": SCHEMA,
        "number": document.number,
        "preview": document.preview,
        "issuer": {
            "name": document.issuer.name,
            "address": document.issuer.address,
            "tax_name": document.issuer.tax_name,
        },
        "tenant_id": document.tenant_id,
        "tenant_name": document.tenant_name,
        "rooms": list(document.rooms),
        "currency": currency,
        "period_start": document.period_first_day.isoformat(),
        "period_end": document.period_last_day.isoformat(),
        "issued_on": document.issued_on.isoformat(),
        "due_on": document.due_on.isoformat(),
        "opening_balance": money(document.opening_minor),
        "lines": [_row_json(row, currency) for row in document.charges],
        "net": money(document.net_minor),
        "taxes": [
            {
                "name": tax.name,
                "rate": str(tax.rate),
                "base": money(tax.base_minor),
                "tax": money(tax.tax_minor),
            }
            for tax in document.taxes
        ],
        "tax": money(document.tax_minor),
        "total": money(document.total_minor),
        "late_readings": [_row_json(row, currency) for row in document.late],
        "credits": [
            {
                "date": credit.day.isoformat(),
                "kind": credit.kind,
                "description": credit.description,
                "amount": money(credit.amount_minor),
            }
            for credit in document.credits
        ],
        "closing_balance": money(document.closing_minor),
        "energy_kwh": format_kwh(document.energy_wh),
        "meters": [_meter_json(meter, "energy_kwh") for meter in document.meters],
        "usage": [
            {"date": day.day.isoformat(), "energy_kwh": format_kwh(day.energy_wh)}
            for day in document.usage
        ],
        # Only for statements billing more than electricity: the others keep their old shape.
        **(
            {
                "sections": [
                    {
                        "resource": section.resource.value,
                        "unit": billing_unit(section.resource),
                        "usage": format_kwh(section.usage),
                        "subtotal": money(section.subtotal_minor),
                        "meters": [_meter_json(meter, "usage") for meter in section.meters],
                    }
                    for section in document.sections
                ]
            }
            if document.sections
            else {}
        ),
    }


def _row_of(data: dict[str, Any], currency: str) -> ChargeRow:
    price = data["unit_price"]
    return ChargeRow(
        kind=ChargeKind(data["kind"]),
        label=data["label"],
        quantity=Decimal(data["quantity"]),
        unit=data["unit"],
        unit_price=None if price is None else Decimal(price),
        amount_minor=to_minor(Decimal(data["amount"]), currency),
        resource=Resource(data.get("resource", Resource.ELECTRICITY)),
    )


def from_json(data: dict[str, Any]) -> StatementDocument:
    """The typed document back from its JSON (a stored statement, to render it)."""
    currency = data["currency"]

    def minor(text: str) -> int:
        return to_minor(Decimal(text), currency)

    return StatementDocument(
        number=data["number"],
        issuer=Issuer(**data["issuer"]),
        tenant_id=data["tenant_id"],
        tenant_name=data["tenant_name"],
        rooms=tuple(data["rooms"]),
        currency=currency,
        period_first_day=date.fromisoformat(data["period_start"]),
        period_last_day=date.fromisoformat(data["period_end"]),
        issued_on=date.fromisoformat(data["issued_on"]),
        due_on=date.fromisoformat(data["due_on"]),
        opening_minor=minor(data["opening_balance"]),
        charges=tuple(_row_of(row, currency) for row in data["lines"]),
        net_minor=minor(data["net"]),
        taxes=tuple(
            TaxRow(
                name=tax["name"],
                rate=Decimal(tax["rate"]),
                base_minor=minor(tax["base"]),
                tax_minor=minor(tax["tax"]),
            )
            for tax in data["taxes"]
        ),
        tax_minor=minor(data["tax"]),
        total_minor=minor(data["total"]),
        late=tuple(_row_of(row, currency) for row in data["late_readings"]),
        credits=tuple(
            CreditRow(
                day=date.fromisoformat(credit["date"]),
                kind=CreditKind(credit["kind"]),
                description=credit["description"],
                amount_minor=minor(credit["amount"]),
            )
            for credit in data["credits"]
        ),
        closing_minor=minor(data["closing_balance"]),
        energy_wh=_base_units(data["energy_kwh"]),
        meters=tuple(_meter_of(meter, "energy_kwh") for meter in data["meters"]),
        usage=tuple(
            UsageDay(day=date.fromisoformat(day["date"]), energy_wh=_base_units(day["energy_kwh"]))
            for day in data["usage"]
        ),
        sections=tuple(
            SectionRow(
                resource=Resource(section["resource"]),
                usage=_base_units(section["usage"]),
                meters=tuple(_meter_of(meter, "usage") for meter in section["meters"]),
                subtotal_minor=minor(section["subtotal"]),
            )
            for section in data.get("sections", ())
        ),
    )


def daily_usage(
    intervals: Sequence[Interval], first_day: date, last_day: date, zone: ZoneInfo
) -> tuple[UsageDay, ...]:
    """Energy per local day from first_day to last_day (the tenant's rated intervals)."""
    days = []
    day = first_day
    while day <= last_day:
        start = to_us(datetime.combine(day, time(), tzinfo=zone))
        end = to_us(datetime.combine(day + timedelta(days=1), time(), tzinfo=zone))
        parts = (interval.clip(start, end) for interval in intervals)
        days.append(
            UsageDay(day=day, energy_wh=sum(part.energy_wh for part in parts if part is not None))
        )
        day += timedelta(days=1)
    return tuple(days)
