"""A statement document as a table, CSV and PDF: every format drawn from the same document.

``statement_table`` is the bill's body in reading order (opening balance, charges, net, tax,
total, late readings, credits, closing balance); the HTML page and the PDF print exactly
these rows, in the add-on's locale. The CSV is for spreadsheets: plain decimals, ISO dates.

The PDF is drawn with fpdf2 (pure Python, maintained, embeds subsetted TrueType fonts and
shapes right-to-left scripts through HarfBuzz) in DejaVu Sans, with Droid Sans Fallback for
the scripts DejaVu lacks (Chinese, Japanese, Korean): any tenant's name prints as written.
"""

from collections.abc import Iterable
import csv
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import cache
import io
import os
from pathlib import Path
from typing import assert_never

from fpdf import FPDF

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

FONT_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "fallback": "DroidSansFallbackFull.ttf",
}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
"""Searched for ``FONT_FILES`` (Debian: fonts-dejavu-core, fonts-droid-fallback; Alpine:
font-dejavu, font-droid-nonlatin); ``TENANT_LEDGER_FONT_DIR`` is searched first."""


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


# -- PDF -----------------------------------------------------------------------------------------


def _font_dirs() -> list[Path]:
    override = os.environ.get("TENANT_LEDGER_FONT_DIR")
    return [Path(d) for d in ([override] if override else []) + list(FONT_DIRS)]


@cache
def font_paths() -> dict[str, Path]:
    """Where the statement fonts are; ``FileNotFoundError`` names what is missing."""
    found: dict[str, Path] = {}
    for role, name in FONT_FILES.items():
        for directory in _font_dirs():
            match = next(iter(sorted(directory.rglob(name))), None) if directory.is_dir() else None
            if match is not None:
                found[role] = match
                break
        else:
            raise FileNotFoundError(f"statement font {name} not found under {_font_dirs()}")
    return found


_COLUMNS = (78.0, 38.0, 34.0, 30.0)  # mm: line, quantity, unit price, amount (A4, 15 mm margins)


class _StatementPdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(format="A4")
        self._footer_text = footer_text
        fonts = font_paths()
        self.add_font("Sans", "", str(fonts["regular"]))
        self.add_font("Sans", "B", str(fonts["bold"]))
        self.add_font("Fallback", "", str(fonts["fallback"]))
        self.set_fallback_fonts(["Fallback"], exact_match=False)
        self.set_text_shaping(True)  # Arabic, Hebrew: joined letters, right to left
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Sans", size=7)
        self.cell(0, 5, f"{self._footer_text} · {self.page_no()}", align="C")

    def line_of(self, text: str, *, size: float = 9, bold: bool = False, height: float = 5) -> None:
        self.set_font("Sans", "B" if bold else "", size)
        self.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")

    def draw_table(self, head: Iterable[str], rows: Iterable[TableRow]) -> None:
        self.set_font("Sans", "B", 8)
        for width, title, align in zip(_COLUMNS, head, "LRRR", strict=True):
            self.cell(width, 6, title, border="B", align=align)
        self.ln()
        for row in rows:
            self.set_font("Sans", "B" if row.emphasis else "", 8.5)
            cells = (row.label, row.quantity, row.unit_price, row.amount)
            for width, text, align in zip(_COLUMNS, cells, "LRRR", strict=True):
                self.cell(width, 5.5, text, border="T" if row.emphasis else 0, align=align)
            self.ln()


def _usage_chart(pdf: _StatementPdf, document: StatementDocument, caption: str) -> None:
    """Daily usage as bars: integer Wh scaled to the tallest day."""
    if not document.usage:
        return
    pdf.ln(3)
    pdf.line_of(caption, bold=True)
    top = max(day.energy_wh for day in document.usage) or 1
    left, bottom, height = pdf.l_margin, pdf.get_y() + 28, 26.0
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(document.usage)
    pdf.set_fill_color(70, 120, 180)
    for index, day in enumerate(document.usage):
        bar = height * day.energy_wh / top
        if bar:
            pdf.rect(left + index * width + 0.3, bottom - bar, max(width - 0.6, 0.2), bar, "F")
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, bottom, pdf.w - pdf.r_margin, bottom)
    pdf.set_font("Sans", size=6.5)
    for index, day in enumerate(document.usage):
        if index % 5 == 0:
            pdf.text(left + index * width, bottom + 3, str(day.day.day))
    pdf.set_y(bottom + 5)


def to_pdf(document: StatementDocument, formats: Formats) -> bytes:
    """The printable bill: who to whom, the period, every line, meters and daily usage."""
    _ = formats.gettext
    title = (
        _("Statement {number}").format(number=document.number)
        if document.number
        else _("Preview of the open period")
    )
    pdf = _StatementPdf(f"{document.issuer.name} · {title}")
    # The document's own date, not the wall clock: the same statement gives the same file.
    pdf.set_creation_date(datetime.combine(document.issued_on, time(), tzinfo=UTC))
    pdf.set_title(title)
    pdf.add_page()
    issuer = document.issuer
    if issuer.name:
        pdf.line_of(issuer.name, size=11, bold=True)
    for part in filter(None, (p.strip() for p in issuer.address.split(";"))):
        pdf.line_of(part, size=8.5, height=4.2)
    pdf.ln(4)
    pdf.line_of(title, size=15, bold=True, height=8)
    pdf.line_of(f"{_('Tenant')}: {document.tenant_name}", size=10)
    if document.rooms:
        pdf.line_of(f"{_('Rooms')}: {', '.join(document.rooms)}", size=10)
    pdf.line_of(
        f"{_('Period')}: {formats.day(document.period_first_day)} - "
        f"{formats.day(document.period_last_day)}"
    )
    pdf.line_of(
        f"{_('Issued')}: {formats.day(document.issued_on)}    "
        f"{_('Due')}: {formats.day(document.due_on)}"
    )
    pdf.line_of(f"{_('Amount due')}: {formats.money(max(-document.closing_minor, 0))}", bold=True)
    pdf.ln(3)
    head = (_("Line"), _("Quantity"), _("Unit price"), f"{_('Amount')} ({document.currency})")
    pdf.draw_table(head, statement_table(document, formats))
    pdf.ln(3)
    for number, group in enumerate(meter_groups(document, formats)):
        if number:
            pdf.ln(3)
        pdf.line_of(group.title, bold=True)
        pdf.draw_table(
            (_("Meter"), _("First reading"), _("Last reading"), group.usage_head),
            (
                TableRow(
                    label=meter.name,
                    quantity=_reading_text(meter.first, formats),
                    unit_price=_reading_text(meter.last, formats),
                    amount=formats.kwh(meter.energy_wh),
                )
                for meter in group.meters
            ),
        )
    _usage_chart(pdf, document, _("Electricity used per day (kWh)"))
    pdf.ln(2)
    pdf.line_of(
        _("Closing balance = opening balance + credits - total charges - late readings."),
        size=7.5,
    )
    return bytes(pdf.output())


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


def _reading_text(reading: MeterReading | None, formats: Formats) -> str:
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
