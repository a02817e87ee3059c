"""Money in and out of a tenant's account: top-ups, adjustments, and the tenant's journal.

A ``ref`` makes a posting idempotent: the same ref again answers 409 ``already_posted`` with
the first entry's id, and nothing is posted twice.
"""

from collections.abc import Callable

from aiohttp import web

from tenant_ledger import operations as ops
from tenant_ledger.api.contract import Limit, NonzeroAmount, PositiveAmount, Query, Reasoned, Ref
from tenant_ledger.api.models import Reply, TenantState
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing import format_minor
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import journal_store
from tenant_ledger.journal import Entry, tenant_account


class TopUp(Reasoned):
    amount: PositiveAmount
    ref: Ref | None = None


class Adjustment(Reasoned):
    amount: NonzeroAmount
    ref: Ref | None = None


class Posted(Reply):
    entry_id: int
    balance: str
    state: TenantState


class JournalQuery(Query):
    limit: Limit | None = None


class JournalEntry(Reply):
    entry_id: int
    time: str
    kind: str
    amount: str
    actor: str
    reason: str


class Journal(Reply):
    entries: list[JournalEntry]


async def _post(call: Call, operation: Callable[..., Entry]) -> web.Response:
    tenant_id, action, body = call.tenant(), call.action, call.body
    ref = None if body.ref is None else ops.caller_ref(ops.RefSource.API, body.ref)
    entry = await call.service.write(
        lambda c, cat: operation(
            c, cat, action, tenant_id=tenant_id, amount_minor=body.amount, ref=ref
        ),
        affects=[tenant_id],
    )
    state = call.service.states[tenant_id]
    return json_response({"entry_id": entry.id, "balance": state["balance"], "state": state}, 201)


@route(
    "POST",
    "/api/tenants/{tenant_id}/topups",
    role="operator",
    summary="Record money paid in",
    tag="money",
    status=201,
    body=TopUp,
    response=Posted,
)
async def top_up(call: Call) -> web.Response:
    return await _post(call, ops.top_up)


@route(
    "POST",
    "/api/tenants/{tenant_id}/adjustments",
    role="operator",
    summary="Correct a balance (either sign)",
    tag="money",
    status=201,
    body=Adjustment,
    response=Posted,
)
async def adjust(call: Call) -> web.Response:
    return await _post(call, ops.adjust)


@route(
    "GET",
    "/api/tenants/{tenant_id}/journal",
    role="read_only",
    summary="The tenant's journal entries, newest first (?limit=, default 100)",
    tag="money",
    query=JournalQuery,
    response=Journal,
)
async def tenant_journal(call: Call) -> web.Response:
    tenant_id = call.tenant(archived=True)
    limit = call.limit(100)
    currency = call.service.catalog.currency
    entries = await call.service.read(
        lambda c, _cat: journal_store.tenant_entries(c, tenant_account(tenant_id), limit)
    )
    return json_response(
        {
            "entries": [
                {
                    "entry_id": row.id,
                    "time": from_us(row.ts_us).isoformat(),
                    "kind": row.kind,
                    "amount": format_minor(row.amount_minor, currency),
                    "actor": row.actor,
                    "reason": row.reason,
                }
                for row in entries
            ]
        }
    )
