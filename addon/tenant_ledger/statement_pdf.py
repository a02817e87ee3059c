"""A statement document as a PDF, from the same rows as the page and the CSV.

Drawn with fpdf2 (pure Python, maintained, embeds subsetted TrueType fonts and shapes
right-to-left scripts through HarfBuzz) in DejaVu Sans, with Droid Sans Fallback for the
scripts DejaVu lacks (Chinese, Japanese, Korean): any tenant's name prints as written.

fpdf2 and what it loads are about 35 MiB of memory: ``statement_render.to_pdf`` imports this
module on the first PDF, so a ledger that never prints one never pays for it.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, time
from functools import cache
import os
from pathlib import Path

from fpdf import FPDF

from tenant_ledger.billing.statement_document import StatementDocument
from tenant_ledger.i18n import Formats
from tenant_ledger.statement_render import TableRow, meter_groups, reading_text, statement_table

FONT_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "fallback": "DroidSansFallbackFull.ttf",
}
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
"""Searched for ``FONT_FILES`` (Debian: fonts-dejavu-core, fonts-droid-fallback; Alpine:
font-dejavu, font-droid-nonlatin); ``TENANT_LEDGER_FONT_DIR`` is searched first."""


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
                    quantity=reading_text(meter.first, formats),
                    unit_price=reading_text(meter.last, formats),
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
