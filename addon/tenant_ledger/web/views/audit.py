"""The audit log with filters: who (actor), what (action) and when (local date range)."""

from datetime import date, datetime, time, timedelta

from aiohttp import web

from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.db.queries import AuditFilter, audit_choices, audit_rows
from tenant_ledger.web.context import Page, Web

MAX_ROWS = 500


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


async def audit(web_ui: Web, page: Page) -> web.StreamResponse:
    zone = web_ui.service.catalog.zone
    first, last = _day(page.query("from")), _day(page.query("to"))
    wanted = AuditFilter(
        actor=page.query("actor"),
        action=page.query("action"),
        from_us=None if first is None else to_us(datetime.combine(first, time(), tzinfo=zone)),
        to_us=None
        if last is None
        else to_us(datetime.combine(last + timedelta(days=1), time(), tzinfo=zone)),
    )
    rows, (actors, actions) = await web_ui.service.read(
        lambda c, _cat: (audit_rows(c, wanted, MAX_ROWS), audit_choices(c))
    )
    return web_ui.render(
        page,
        "audit.html",
        rows=[
            {
                "time": f"{from_us(row.ts_us).astimezone(zone):%Y-%m-%d %H:%M:%S}",
                "actor": row.actor,
                "action": row.action,
                "target": row.target,
                "reason": row.reason,
                "details": row.details,
            }
            for row in rows
        ],
        actors=actors,
        actions=actions,
        wanted={
            "actor": wanted.actor,
            "action": wanted.action,
            "from": "" if first is None else first.isoformat(),
            "to": "" if last is None else last.isoformat(),
        },
        truncated=len(rows) == MAX_ROWS,
    )
