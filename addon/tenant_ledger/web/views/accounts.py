"""Reading an account: landlord overview, tenant page / portal, chart, readings, statements."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from markupsafe import Markup
import sqlalchemy as sa

from tenant_ledger import operations as ops
from tenant_ledger.billing import Reading, format_minor
from tenant_ledger.billing.resources import RESOURCES, Resource, billing_unit, format_usage
from tenant_ledger.billing.statement_document import StatementDocument
from tenant_ledger.billing.tenancy import tenant_windows
from tenant_ledger.billing.timestamps import from_epoch, from_us, supported_day, to_epoch, to_us
from tenant_ledger.db import journal_store
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.queries import StoredReading, readings_between
from tenant_ledger.db.statement_inputs import readings_around
from tenant_ledger.journal import PostingKind, tenant_account
from tenant_ledger.statement_render import (
    meter_groups,
    resource_name,
    statement_table,
    to_csv,
    to_pdf,
)
from tenant_ledger.web.charts import Bar, bar_chart
from tenant_ledger.web.context import Page, Web
from tenant_ledger.web.names import names
from tenant_ledger.web.resource_usage import resource_usage
from tenant_ledger.web.statements import (
    Period,
    find_period,
    issued_periods,
    period_document,
    periods,
)
from tenant_ledger.web.tariff_view import band_rows
from tenant_ledger.web.usage import Span, buckets, usage_bars

RECENT_ENTRIES = 20
MAX_READINGS = 2000
DEFAULT_READING_DAYS = 7


def _span(page: Page) -> Span:
    try:
        return Span(page.query("span"))
    except ValueError:
        return Span.WEEK


class UnknownResourceError(ValueError):
    """A chart was asked for a resource the ledger does not know."""


CHART_RESOURCE_HELP = f"resource must be one of {', '.join(RESOURCES)}"
_RESOURCE_NAMES = {
    Resource.ELECTRICITY: "Electricity",
    Resource.WATER: "Water",
    Resource.GAS: "Gas",
    Resource.HEAT: "Heat",
}
_SPAN_CAPTIONS = {
    Span.DAY: "last 24 hours",
    Span.WEEK: "last 7 days",
    Span.MONTH: "last 30 days",
}


def _resource(page: Page) -> Resource:
    """The chart's resource in the page's query: electricity when none is named."""
    name = page.query("resource")
    if not name:
        return Resource.ELECTRICITY
    if name not in RESOURCES:
        raise UnknownResourceError(name)
    return Resource(name)


def _points(
    catalog: Catalog, tenant_id: str, resource: Resource = Resource.ELECTRICITY
) -> set[str]:
    """Every point of ``resource`` the tenant ever held (history matters for the charts)."""
    return {
        item.point_id
        for item in catalog.assignments
        if item.tenant_id == tenant_id and catalog.resource_of(item.point_id) is resource
    }


async def _chart(
    web_ui: Web, tenant_id: str, span: Span, resource: Resource = Resource.ELECTRICITY
) -> Markup:
    """The tenant's use of ``resource`` over ``span``, in its billing unit (kWh or m³)."""
    service, catalog = web_ui.service, web_ui.service.catalog
    edges = buckets(span, from_us(service.clock()), catalog.zone)
    points = _points(catalog, tenant_id, resource)
    start_s, end_s = edges[0][2] // 1_000_000, edges[-1][3] // 1_000_000

    def query(connection: sa.Connection, _catalog: Catalog) -> list[Reading]:
        return readings_around(connection, points, start_s, end_s)

    bars = usage_bars(edges, await service.read(query), catalog.assignments, tenant_id)
    total = format_usage(sum(bar.usage for bar in bars), resource)
    caption = f"{_RESOURCE_NAMES[resource]} used, {_SPAN_CAPTIONS[span]}: {total}"
    return bar_chart(bars, caption, billing_unit(resource))


async def _resource_charts(
    web_ui: Web, tenant_id: str, span: Span, state: dict[str, Any]
) -> dict[Resource, Markup]:
    """A chart of electricity and of each other resource in the tenant's state, in that order."""
    shown = dict.fromkeys([Resource.ELECTRICITY, *map(Resource, state["resources"])])
    return {resource: await _chart(web_ui, tenant_id, span, resource) for resource in shown}


async def state_of(web_ui: Web, tenant_id: str) -> dict[str, Any]:
    state = web_ui.service.states.get(tenant_id)
    if state is None:
        (state,) = await web_ui.service.refresh([tenant_id])
    return state


async def account_context(web_ui: Web, page: Page, tenant_id: str) -> dict[str, Any]:
    """Everything the tenant page and the portal show."""
    service = web_ui.service
    span = _span(page)

    def query(
        connection: sa.Connection, catalog: Catalog
    ) -> tuple[list[Any], dict[str, int], list[Any], set[str]]:
        entries = journal_store.tenant_entries(
            connection, tenant_account(tenant_id), RECENT_ENTRIES
        )
        reversals = journal_store.refs_in(connection, [ops.reversal_ref(row.id) for row in entries])
        return (
            entries,
            reversals,
            ops.users_of_tenant(connection, tenant_id),
            issued_periods(connection, catalog, tenant_id),
        )

    entries, reversals, linked, issued = await service.read(query)
    catalog = service.catalog
    plan = catalog.plan_of(tenant_id)
    state = await state_of(web_ui, tenant_id)
    charts = await _resource_charts(web_ui, tenant_id, span, state)
    return {
        "tenant_id": tenant_id,
        "state": state,
        "record": catalog.tenants[tenant_id],
        "plan": plan,
        "span": span.value,
        "spans": [item.value for item in Span],
        "chart": charts[Resource.ELECTRICITY],
        "charts": charts,
        "entries": [
            {
                "time": _local(catalog, row.ts_us),
                "kind": row.kind,
                "amount": format_minor(row.amount_minor, catalog.currency),
                "reason": row.reason,
                "actor": row.actor,
                "id": row.id,
                "reversed_by": reversals.get(ops.reversal_ref(row.id)),
                "reversible": row.kind in ops.REVERSIBLE,
                "reverses": row.ref.partition(":")[2]
                if row.kind == PostingKind.REVERSAL and row.ref
                else None,
            }
            for row in entries
        ],
        "periods": periods(catalog, tenant_id, service.clock()),
        "issued": issued,
        "linked": linked,
        "point_name": (await names(web_ui)).point,
    }


def _local(catalog: Catalog, micros: int) -> str:
    return f"{from_us(micros).astimezone(catalog.zone):%Y-%m-%d %H:%M}"


async def home(web_ui: Web, page: Page) -> web.StreamResponse:
    if page.who.tenant_id is not None:
        return await _account_page(web_ui, page, page.who.tenant_id)
    catalog = web_ui.service.catalog
    tenants = [await state_of(web_ui, tenant_id) for tenant_id in sorted(catalog.tenants)]
    tenants.sort(key=lambda state: str(state["name"]).lower())
    return web_ui.render(
        page,
        "overview.html",
        tenants=tenants,
        unlinked=web_ui.seen,
        point_name=(await names(web_ui)).point,
    )


async def tenant(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _account_page(web_ui, page, page.tenant_id)


async def _account_page(
    web_ui: Web, page: Page, tenant_id: str, *, status: int = 200, **extra: Any
) -> web.Response:
    context = await account_context(web_ui, page, tenant_id)
    if not page.who.is_landlord:
        return web_ui.render(page, "portal.html", top_up_text=web_ui.top_up_text, **context)
    return web_ui.render(
        page,
        "tenant.html",
        status,
        unlinked=web_ui.seen,
        resources=resource_usage(context["state"], web_ui.service.formats),
        **(context | {"errors": {}, "values": {}} | extra),
    )


async def rerender_with_errors(
    web_ui: Web, page: Page, errors: dict[str, str], values: dict[str, str]
) -> web.Response:
    """The landlord's tenant page again, with the form's messages and what was typed."""
    return await _account_page(
        web_ui, page, page.tenant_id, status=400, errors=errors, values=values
    )


async def chart(web_ui: Web, page: Page) -> web.StreamResponse:
    try:
        resource = _resource(page)
    except UnknownResourceError:
        return web_ui.refused(page, CHART_RESOURCE_HELP, status=400)
    svg = await _chart(web_ui, page.tenant_id, _span(page), resource)
    return web.Response(
        text=str(svg),
        content_type="image/svg+xml",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def _day(text: str, default: date) -> date:
    """The day in a page's query, or ``default`` for none, nonsense or a day out of range."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return default
    return day if supported_day(day) else default


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadingLine:
    anchor: str
    point_id: str
    time: str
    register: str
    """In the point's billing unit: '2.736 m³', '58.000 kWh'."""
    delta: str


def _reading_lines(catalog: Catalog, rows: list[StoredReading]) -> list[ReadingLine]:
    """Newest first, each with the usage since the point's previous reading in the list."""
    previous: dict[str, int] = {}
    lines = []
    for row in sorted(rows, key=lambda item: item.ts):
        before = previous.get(row.point_id)
        previous[row.point_id] = row.energy_wh
        resource = catalog.resource_of(row.point_id)
        lines.append(
            ReadingLine(
                anchor=reading_anchor(row.point_id, row.ts),
                point_id=row.point_id,
                time=_local(catalog, row.ts * 1_000_000),
                register=format_usage(row.energy_wh, resource),
                delta="" if before is None else format_usage(row.energy_wh - before, resource),
            )
        )
    return lines[::-1]


def reading_anchor(point_id: str, ts: int) -> str:
    return f"r-{point_id}-{ts}"


async def readings(web_ui: Web, page: Page) -> web.StreamResponse:
    catalog, tenant_id = web_ui.service.catalog, page.tenant_id
    today = from_us(web_ui.service.clock()).astimezone(catalog.zone).date()
    first = _day(page.query("from"), today - timedelta(days=DEFAULT_READING_DAYS))
    last = _day(page.query("to"), today)
    start_s = to_epoch(datetime.combine(first, time(), tzinfo=catalog.zone))
    end_s = to_epoch(datetime.combine(last + timedelta(days=1), time(), tzinfo=catalog.zone))
    # Only while the tenant held each point: not the previous or next occupant's readings.
    held = tenant_windows(
        catalog.assignments, tenant_id, start=from_epoch(start_s), end=from_epoch(end_s - 1)
    )
    windows = {
        point_id: [(-(-to_us(begin) // 1_000_000), to_epoch(finish)) for begin, finish in spans]
        for point_id, spans in held.items()
    }
    rows = await web_ui.service.read(lambda c, _cat: readings_between(c, windows, MAX_READINGS))
    return web_ui.render(
        page,
        "readings.html",
        tenant_id=tenant_id,
        name=catalog.tenants[tenant_id].name,
        first=first.isoformat(),
        last=last.isoformat(),
        lines=_reading_lines(catalog, rows),
        truncated=len(rows) == MAX_READINGS,
    )


async def _document_of(web_ui: Web, page: Page) -> tuple[Period, StatementDocument | str] | None:
    """The period in the path and its issued statement, or a preview up to now."""
    service = web_ui.service
    period = find_period(service.catalog, page.tenant_id, page.request.match_info["period"])
    if period is None:
        return None
    document = await service.read(
        lambda c, cat: period_document(
            c, cat, page.tenant_id, period, issuer=service.issuer, now_us=service.clock()
        )
    )
    return period, document


async def statement(web_ui: Web, page: Page) -> web.StreamResponse:
    found = await _document_of(web_ui, page)
    if found is None:
        return web_ui.not_found(page)
    period, document = found
    catalog = web_ui.service.catalog
    problem = document if isinstance(document, str) else None
    chart = None
    formats = web_ui.service.formats
    if not isinstance(document, str) and document.usage:
        chart = bar_chart(
            [
                Bar(
                    label=str(day.day.day),
                    title=formats.day(day.day),
                    usage=day.energy_wh,
                )
                for day in document.usage
            ],
            "",
        )
    return web_ui.render(
        page,
        "statement.html",
        tenant_id=page.tenant_id,
        name=catalog.record_of(page.tenant_id).name,
        period=period,
        problem=problem,
        document=None if isinstance(document, str) else document,
        rows=[] if isinstance(document, str) else statement_table(document, formats),
        meter_groups=[] if isinstance(document, str) else meter_groups(document, formats),
        chart=chart,
        anchor=reading_anchor,
        to_epoch=to_epoch,
    )


async def statement_download(web_ui: Web, page: Page) -> web.StreamResponse:
    """The page's statement (issued or preview) as CSV."""
    found = await _document_of(web_ui, page)
    if found is None or isinstance(found[1], str):
        return web_ui.not_found(page)
    period, document = found[0], found[1]
    filename = f"statement-{page.tenant_id}-{period.key}.csv"
    return _download(to_csv(document).encode(), "text/csv", filename)


async def issued_download(web_ui: Web, page: Page) -> web.StreamResponse:
    """The issued statement as the ledger stored it, in PDF or CSV (404 until issued)."""
    found = await _document_of(web_ui, page)
    if found is None or isinstance(found[1], str) or found[1].preview:
        return web_ui.not_found(page)
    period, document = found[0], found[1]
    kind = page.request.match_info["format"]
    filename = f"statement-{page.tenant_id}-{period.key}-{document.number}.{kind}"
    if kind == "pdf":
        return _download(to_pdf(document, web_ui.service.formats), "application/pdf", filename)
    return _download(to_csv(document).encode(), "text/csv", filename)


def _download(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def tariff(web_ui: Web, page: Page) -> web.StreamResponse:
    catalog, tenant_id = web_ui.service.catalog, page.tenant_id
    plan = catalog.plan_of(tenant_id)
    sections = []
    for resource in Resource:
        slot, schedule = plan.tariff_for(resource), catalog.schedule_of(tenant_id, resource)
        if slot is None or schedule is None:
            continue
        sections.append(
            {
                "resource": resource.value,
                "name": resource_name(resource, web_ui.service.formats),
                "versions": [
                    {
                        "from": f"{version.effective_from.astimezone(catalog.zone):%Y-%m-%d %H:%M}",
                        "tariff": version.tariff,
                        "bands": band_rows(version.tariff, slot.quota, billing_unit(resource)),
                    }
                    for version in reversed(schedule.versions)
                ],
            }
        )
    return web_ui.render(
        page,
        "tariff_view.html",
        tenant_id=tenant_id,
        name=catalog.tenants[tenant_id].name,
        plan=plan,
        sections=sections,
    )
