"""The building over one month: incomer against billed energy, losses, common areas, vacant
rooms, with totals; and the same month as a CSV file.

Every number comes from ``shared_costs`` (what statements and ``/api/reports/losses`` use),
so the page cannot disagree with the bills.
"""

import csv
from dataclasses import dataclass
from datetime import date, datetime, time
import io

from aiohttp import web
import sqlalchemy as sa

from tenant_ledger.billing import LossReport, format_kwh
from tenant_ledger.billing.money import format_minor
from tenant_ledger.billing.timestamps import FIRST_DAY, LAST_DAY, from_us, to_us
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.shared_costs import common_split, losses, point_energy, tenant_energy
from tenant_ledger.web.context import Page, Web
from tenant_ledger.web.names import Names, names


@dataclass(frozen=True, kw_only=True)
class MeterRow:
    name: str
    point_id: str
    kind: str
    holder: str
    """The tenant holding the meter at the month's end; "" for a common point or the incomer."""
    vacant: bool
    energy_wh: int


@dataclass(frozen=True, kw_only=True)
class TenantRow:
    name: str
    tenant_id: str
    billed_wh: int
    common_wh: int
    common_minor: int


@dataclass(frozen=True, kw_only=True)
class Month:
    first: date
    meters: list[MeterRow]
    tenants: list[TenantRow]
    report: LossReport
    error: str
    """Why the common-area shares could not be computed (as a statement would refuse)."""


def _month(page: Page, catalog: Catalog, now_us: int) -> date:
    """The month in ``?month=YYYY-MM``; else (none, nonsense, out of range) the last whole
    month in the building's zone."""
    try:
        first = date.fromisoformat(f"{page.query('month')}-01")
    except ValueError:
        first = FIRST_DAY
    if FIRST_DAY < first < LAST_DAY.replace(day=1):
        return first
    today = from_us(now_us).astimezone(catalog.zone).date()
    return date.fromordinal(today.replace(day=1).toordinal() - 1).replace(day=1)


def _next(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _read(connection: sa.Connection, catalog: Catalog, first: date, known: Names) -> Month:
    start = datetime.combine(first, time(), tzinfo=catalog.zone)
    end = datetime.combine(_next(first), time(), tzinfo=catalog.zone)
    start_us, end_us = to_us(start), to_us(end)
    energy = point_energy(connection, catalog.points, start_us, end_us)
    holders = {
        item.point_id: item.tenant_id
        for item in catalog.assignments
        if item.start_us < end_us <= item.end_us
    }
    meters = [
        MeterRow(
            name=known.point(point_id),
            point_id=point_id,
            kind=record.kind,
            holder=known.tenants.get(holders.get(point_id, ""), holders.get(point_id, "")),
            vacant=record.kind == "tenant" and point_id not in holders,
            energy_wh=energy.get(point_id, 0),
        )
        for point_id, record in catalog.point_records.items()
    ]
    meters.sort(key=lambda row: (row.kind != "incomer", row.kind, row.name.lower()))
    try:
        shares, error = common_split(connection, catalog, start, end), ""
    except ValueError as err:
        shares, error = {}, str(err)
    billed = tenant_energy(connection, catalog, start, end)
    tenants = [
        TenantRow(
            name=known.tenants.get(tenant_id, tenant_id),
            tenant_id=tenant_id,
            billed_wh=billed.get(tenant_id, 0),
            common_wh=sum(line.energy_wh for line in shares.get(tenant_id, [])),
            common_minor=sum(line.amount.minor for line in shares.get(tenant_id, [])),
        )
        for tenant_id in sorted(set(billed) | set(shares))
    ]
    tenants.sort(key=lambda row: row.name.lower())
    report = losses(connection, catalog, start_us, end_us)
    return Month(first=first, meters=meters, tenants=tenants, report=report, error=error)


async def _load(web_ui: Web, page: Page) -> Month:
    catalog = web_ui.service.catalog
    first = _month(page, catalog, web_ui.service.clock())
    known = await names(web_ui)
    return await web_ui.service.read(lambda c, cat: _read(c, cat, first, known))


async def building(web_ui: Web, page: Page) -> web.StreamResponse:
    month = await _load(web_ui, page)
    report = month.report
    ratio = report.loss_ratio
    return web_ui.render(
        page,
        "building.html",
        month=month,
        label=f"{month.first:%B %Y}",
        previous=f"{date.fromordinal(month.first.toordinal() - 1):%Y-%m}",
        following=f"{_next(month.first):%Y-%m}",
        this=f"{month.first:%Y-%m}",
        loss_percent="—" if ratio is None else f"{ratio * 100:.1f}".replace("-0.0", "0.0"),
        totals={
            "meters_wh": sum(row.energy_wh for row in month.meters if row.kind != "incomer"),
            "billed_wh": sum(row.billed_wh for row in month.tenants),
            "common_wh": sum(row.common_wh for row in month.tenants),
            "common_minor": sum(row.common_minor for row in month.tenants),
        },
        vacant=[row for row in month.meters if row.vacant],
    )


async def building_csv(web_ui: Web, page: Page) -> web.StreamResponse:
    """The month's meters and tenants as one CSV table (kWh with 3 decimals, money exact)."""
    month = await _load(web_ui, page)
    currency = web_ui.currency
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "name", "id", "kind", "tenant", "kwh", f"common_share_{currency}"])
    for meter in month.meters:
        tenant = "vacant" if meter.vacant else meter.holder
        writer.writerow(
            [
                "meter",
                meter.name,
                meter.point_id,
                meter.kind,
                tenant,
                format_kwh(meter.energy_wh),
                "",
            ]
        )
    for row in month.tenants:
        writer.writerow(
            [
                "tenant",
                row.name,
                row.tenant_id,
                "billed",
                "",
                format_kwh(row.billed_wh),
                format_minor(row.common_minor, currency),
            ]
        )
    report = month.report
    for label, wh in (
        ("incomer", report.incomer_wh),
        ("all other meters", report.channels_wh),
        ("losses", report.losses_wh),
    ):
        writer.writerow(["total", label, "", "", "", format_kwh(wh), ""])
    common_total = sum(row.common_minor for row in month.tenants)
    writer.writerow(
        [
            "total",
            "billed to tenants",
            "",
            "",
            "",
            format_kwh(sum(row.billed_wh for row in month.tenants)),
            format_minor(common_total, currency),
        ]
    )
    filename = f"building-{month.first:%Y-%m}.csv"
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
