"""A statement document as a table, CSV and PDF: every format drawn from the same document.

``statement_table`` is the bill's body in reading order (opening balance, charges, net, tax,
total, late readings, credits, closing balance); the HTML page and the PDF print exactly
these rows, in the add-on's locale. The CSV is for spreadsheets: plain decimals, ISO dates.

The PDF is drawn by ``statement_pdf``, loaded on the first PDF.
"""

import csv
from dataclasses import dataclass
import io
from typing import assert_never

from tenant_ledger.billing import format_kwh, format_minor
from tenant_ledger.billing.rating import FLAT_BAND
from tenant_ledger.billing.resources import Resource, billing_unit
from tenant_ledger.billing.statement_document import (
    ChargeKind,
    ChargeRow,
    MeterReading,
    MeterRow,
    StatementDocument,
)
from tenant_ledger.billing.statements import CreditKind
from tenant_ledger.i18n import Formats


@dataclass(frozen=True, kw_only=True, slots=True)
class TableRow:
    label: str
    quantity: str = ""
    unit_price: str = ""
    amount: str = ""
    emphasis: bool = False
    band: str = ""
    """The tariff band that priced the line (the web page links it)."""


def _charge_row(row: ChargeRow, formats: Formats) -> TableRow:
    _ = formats.gettext
    match row.kind:
        case ChargeKind.STANDING:
            label = _("Standing charge")
        case ChargeKind.ENERGY:
            label = _("Energy") if row.label == FLAT_BAND else f"{_('Energy')} ({row.label})"
        case ChargeKind.SHARED | ChargeKind.LATE:
            label = row.label
        case _:
            assert_never(row.kind)
    per = _("day") if row.unit == "day" else row.unit
    quantity = (
        f"{formats.number(row.quantity, 2)} {_('days')}"
        if row.unit == "day"
        else f"{formats.number(row.quantity, 3)} {row.unit}"
    )
    return TableRow(
        label=label,
        quantity=quantity,
        unit_price=""
        if row.unit_price is None
        else f"{formats.unit_price(row.unit_price)} / {per}",
        amount=formats.amount(row.amount_minor),
        band=_band_anchor(row) if row.kind in (ChargeKind.ENERGY, ChargeKind.STANDING) else "",
    )


def _band_anchor(row: ChargeRow) -> str:
    """The tariff page's anchor of the line's band: ``energy``, ``water-energy``, ..."""
    if row.resource is Resource.ELECTRICITY:
        return row.label
    return f"{row.resource.value}-{row.label}"


def statement_table(document: StatementDocument, formats: Formats) -> list[TableRow]:
    """The bill's lines in reading order, each amount in the locale's format."""
    _ = formats.gettext
    rows = [TableRow(label=_("Opening balance"), amount=formats.amount(document.opening_minor))]
    if not document.sections:
        rows += [_charge_row(row, formats) for row in document.charges]
    for section in document.sections:
        rows += [
            _charge_row(row, formats)
            for row in document.charges
            if row.resource is section.resource
        ]
        rows.append(
            TableRow(
                label=resource_name(section.resource, formats),
                quantity=f"{formats.kwh(section.usage)} {billing_unit(section.resource)}",
                amount=formats.amount(section.subtotal_minor),
                emphasis=True,
            )
        )
    rows.append(TableRow(label=_("Net"), amount=formats.amount(document.net_minor), emphasis=True))
    rows += [
        TableRow(
            label=f"{tax.name} {formats.percent(tax.rate)}",
            quantity=_("on {base}").format(base=formats.amount(tax.base_minor)),
            amount=formats.amount(tax.tax_minor),
        )
        for tax in document.taxes
    ]
    rows.append(
        TableRow(
            label=_("Total charges"),
            quantity=f"{formats.kwh(document.energy_wh)} kWh",
            amount=formats.amount(document.total_minor),
            emphasis=True,
        )
    )
    rows += [
        TableRow(
            label=_("Late readings: {label}").format(label=row.label),
            quantity=f"{formats.number(row.quantity, 3)} {row.unit}",
            amount=formats.amount(-row.amount_minor),
        )
        for row in document.late
    ]
    rows += [
        TableRow(
            label=f"{_credit_label(credit.kind, formats)} {formats.day(credit.day)}"
            + (f" · {credit.description}" if credit.description else ""),
            amount=formats.amount(credit.amount_minor),
        )
        for credit in document.credits
    ]
    rows.append(
        TableRow(
            label=_("Closing balance"),
            amount=formats.amount(document.closing_minor),
            emphasis=True,
        )
    )
    return rows


def to_csv(document: StatementDocument) -> str:
    """One line per charge, tax, late reading, credit and meter reading, plain decimals."""
    currency = document.currency

    def money(minor: int) -> str:
        return format_minor(minor, currency)

    def line(section: str, item: str, amount: str = "", *rest: str) -> list[str]:
        quantity, unit, price = (*rest, "", "", "")[:3]
        return [section, item, quantity, unit, price, amount]

    rows = [
        line("statement", document.number or "preview"),
        line("period", f"{document.period_first_day}..{document.period_last_day}"),
        line("opening", "opening balance", money(document.opening_minor)),
    ]
    rows += [
        line(
            "charge",
            row.label,
            money(row.amount_minor),
            str(row.quantity),
            row.unit,
            "" if row.unit_price is None else str(row.unit_price),
        )
        for row in document.charges
    ]
    rows += [
        line(
            "subtotal",
            section.resource.value,
            money(section.subtotal_minor),
            format_kwh(section.usage),
            billing_unit(section.resource),
        )
        for section in document.sections
    ]
    rows.append(line("net", "net", money(document.net_minor)))
    rows += [
        line("tax", f"{tax.name} {tax.percent} %", money(tax.tax_minor), money(tax.base_minor))
        for tax in document.taxes
    ]
    rows.append(
        line(
            "total",
            "total charges",
            money(document.total_minor),
            format_kwh(document.energy_wh),
            "kWh",
        )
    )
    rows += [
        line("late", row.label, money(-row.amount_minor), str(row.quantity), row.unit)
        for row in document.late
    ]
    rows += [
        line(
            "credit",
            f"{credit.kind} {credit.day} {credit.description}".strip(),
            money(credit.amount_minor),
        )
        for credit in document.credits
    ]
    rows.append(line("closing", "closing balance", money(document.closing_minor)))
    rows += [
        line(
            "reading",
            f"{meter.name} {which} {reading.at.isoformat()}",
            "",
            format_kwh(reading.energy_wh),
            "kWh",
        )
        for meter in document.meters
        for which, reading in (("first", meter.first), ("last", meter.last))
        if reading is not None and not document.sections
    ]
    rows += [
        line(
            "reading",
            f"{meter.name} {which} {reading.at.isoformat()}",
            "",
            format_kwh(reading.energy_wh),
            billing_unit(section.resource),
        )
        for section in document.sections
        for meter in section.meters
        for which, reading in (("first", meter.first), ("last", meter.last))
        if reading is not None
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "item", "quantity", "unit", "unit_price", f"amount_{currency}"])
    writer.writerows(rows)
    return out.getvalue()


def to_pdf(document: StatementDocument, formats: Formats) -> bytes:
    """The printable bill: who to whom, the period, every line, meters and daily usage."""
    # fpdf2 (with fontTools, Pillow, NumPy) is a third of the serving ledger's memory and most
    # ledgers print a PDF a few times a month: it is loaded on the first one, not at start.
    from tenant_ledger import statement_pdf  # noqa: PLC0415

    return statement_pdf.to_pdf(document, formats)


@dataclass(frozen=True, kw_only=True, slots=True)
class MeterGroup:
    """The meters of one resource under their heading (the page and the PDF print these)."""

    title: str
    usage_head: str
    unit: str
    meters: tuple[MeterRow, ...]


def meter_groups(document: StatementDocument, formats: Formats) -> list[MeterGroup]:
    """One group per resource; a statement of electricity alone has its one "Meters" group."""
    _ = formats.gettext
    if not document.sections:
        return [
            MeterGroup(
                title=_("Meters"), usage_head=_("Energy (kWh)"), unit="kWh", meters=document.meters
            )
        ]
    return [
        MeterGroup(
            title=f"{_('Meters')}: {resource_name(section.resource, formats)}",
            usage_head=f"{_('Usage')} ({billing_unit(section.resource)})",
            unit=billing_unit(section.resource),
            meters=section.meters,
        )
        for section in document.sections
    ]


def resource_name(resource: Resource, formats: Formats) -> str:
    """The resource as the statement names it, in the add-on's locale."""
    _ = formats.gettext
    match resource:
        case Resource.ELECTRICITY:
            return _("Electricity")
        case Resource.WATER:
            return _("Water")
        case Resource.GAS:
            return _("Gas")
        case Resource.HEAT:
            return _("Heat")
        case _:
            assert_never(resource)


def reading_text(reading: MeterReading | None, formats: Formats) -> str:
    if reading is None:
        return "—"
    return f"{formats.kwh(reading.energy_wh)} ({formats.day(reading.at.date())})"


def _credit_label(kind: CreditKind, formats: Formats) -> str:
    _ = formats.gettext
    match kind:
        case CreditKind.TOP_UP:
            return _("Top-up")
        case CreditKind.ADJUSTMENT:
            return _("Adjustment")
        case CreditKind.REVERSAL:
            return _("Reversal")
        case _:
            assert_never(kind)
