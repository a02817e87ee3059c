"""Reading issues for the landlord: conflicting readings and quarantined (implausible) ones.

A quarantined reading that was real after all is released here, with a reason, and is then
ingested like any reading (BILLING.md, "Implausible readings").
"""

from typing import Any

from aiohttp import web
import sqlalchemy as sa

from tenant_ledger.api.readings import quarantine_item
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db.schema import quarantined_readings, reading_conflicts
from tenant_ledger.errors import LedgerError
from tenant_ledger.web import forms
from tenant_ledger.web.context import Page, Web, redirect

MAX_ROWS = 200


def _issues(connection: sa.Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    conflicts = connection.execute(
        sa.select(reading_conflicts).order_by(reading_conflicts.c.id.desc()).limit(MAX_ROWS)
    )
    quarantined = connection.execute(
        sa.select(quarantined_readings).order_by(quarantined_readings.c.id.desc()).limit(MAX_ROWS)
    )
    return (
        [dict(row._mapping) for row in conflicts],
        [quarantine_item(dict(row._mapping)) for row in quarantined],
    )


async def _render(
    web_ui: Web,
    page: Page,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    zone = web_ui.service.catalog.zone
    conflicts, quarantined = await web_ui.service.read(lambda c, _cat: _issues(c))

    def local(epoch_s: int) -> str:
        return f"{from_us(epoch_s * 1_000_000).astimezone(zone):%Y-%m-%d %H:%M:%S}"

    return web_ui.render(
        page,
        "issues.html",
        status,
        conflicts=[row | {"time": local(row["ts"])} for row in conflicts],
        quarantined=[item | {"time": local(item["ts"])} for item in quarantined],
        errors=errors or {},
        values=values or {},
        truncated=MAX_ROWS in (len(conflicts), len(quarantined)),
    )


async def issues(web_ui: Web, page: Page) -> web.StreamResponse:
    return await _render(web_ui, page)


async def release(web_ui: Web, page: Page) -> web.StreamResponse:
    identifier = page.request.match_info["quarantine_id"]
    form = f"release{identifier}"
    reason = page.field("reason")
    try:
        text = forms.text("reason", reason)
        action = web_ui.action(page, text)
        await web_ui.service.release_reading(action, int(identifier))
    except forms.FormError as err:
        errors = {f"{form}.{err.field}": err.message}
        return await _render(web_ui, page, 400, errors, {f"{form}.reason": reason})
    except LedgerError as err:
        errors = {f"{form}.": err.message}
        return await _render(web_ui, page, 400, errors, {f"{form}.reason": reason})
    raise redirect(page, "/readings/issues", done="release")
