"""Reading issues for the landlord: leak alarms, quarantined (implausible) readings,
unreadable messages and conflicting readings.

A leak alarm nobody has acknowledged is listed first; acknowledging it here turns the point's
leak sensor in Home Assistant off (addon/DOCS.md, "Leak watches").

A quarantined reading that was real after all is released here, with a reason, and is then
ingested like any reading (BILLING.md, "Implausible readings"). An unreadable message carried
no reading to release: it shows which sender is broken.
"""

from datetime import datetime
from typing import Any

from aiohttp import web
import sqlalchemy as sa

from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import leak_store, listings
from tenant_ledger.errors import LedgerError
from tenant_ledger.operations import leaks
from tenant_ledger.web import forms
from tenant_ledger.web.context import Page, Web, redirect

MAX_ROWS = 200


def _issues(connection: sa.Connection) -> dict[str, list[dict[str, Any]]]:
    return {
        "conflicts": listings.conflict_rows(connection, None, MAX_ROWS),
        "quarantined": listings.quarantined(connection, None, MAX_ROWS),
        "parked": listings.parked(connection, MAX_ROWS),
        "leaks": [
            leaks.alarm_payload(alarm)
            for alarm in leak_store.alarms(
                connection, point_id=None, open_only=True, limit=MAX_ROWS
            )
        ],
    }


async def _render(
    web_ui: Web, page: Page, status: int = 200, refusal: forms.Refusal = forms.NO_REFUSAL
) -> web.Response:
    zone = web_ui.service.catalog.zone
    issues = await web_ui.service.read(lambda c, _cat: _issues(c))

    def local(moment: datetime) -> str:
        return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}"

    def local_s(epoch_s: int) -> str:
        return local(from_us(epoch_s * 1_000_000))

    return web_ui.render(
        page,
        "issues.html",
        status,
        conflicts=[row | {"time": local_s(row["ts"])} for row in issues["conflicts"]],
        quarantined=[item | {"time": local_s(item["ts"])} for item in issues["quarantined"]],
        parked=[
            row | {"time": local(datetime.fromisoformat(row["last_received_at"]))}
            for row in issues["parked"]
        ],
        leaks=[
            alarm | {"from": local_s(alarm["window_start"]), "to": local_s(alarm["window_end"])}
            for alarm in issues["leaks"]
        ],
        errors=refusal.errors,
        values=refusal.values,
        truncated=any(len(rows) == MAX_ROWS for rows in issues.values()),
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
        return await _render(web_ui, page, 400, forms.Refusal.of(form, err, {"reason": reason}))
    except LedgerError as err:
        refusal = forms.Refusal.of(form, forms.FormError("", err.message), {"reason": reason})
        return await _render(web_ui, page, 400, refusal)
    raise redirect(page, "/readings/issues", done="release")


async def acknowledge_leak(web_ui: Web, page: Page) -> web.StreamResponse:
    identifier = page.request.match_info["alarm_id"]
    form = f"leak{identifier}"
    reason = page.field("reason")
    try:
        action = web_ui.action(page, forms.text("reason", reason) if reason else "")
        await web_ui.service.acknowledge_leak_alarm(action, int(identifier))
    except forms.FormError as err:
        return await _render(web_ui, page, 400, forms.Refusal.of(form, err, {"reason": reason}))
    except LedgerError as err:
        if err.status == 404:
            return web_ui.not_found(page)
        refusal = forms.Refusal.of(form, forms.FormError("", err.message), {"reason": reason})
        return await _render(web_ui, page, 400, refusal)
    raise redirect(page, "/readings/issues", done="leak")
