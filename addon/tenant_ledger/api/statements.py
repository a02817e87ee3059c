"""Statements: a tenant's list, one statement as JSON, CSV or PDF, and the run of due ones."""

import json
from typing import Literal

from aiohttp import web

from tenant_ledger.api.contract import Query
from tenant_ledger.api.health import StatementFailure
from tenant_ledger.api.models import JsonObject, Reply
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing import format_minor
from tenant_ledger.billing.statement_document import from_json
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import listings
from tenant_ledger.errors import not_found
from tenant_ledger.statement_render import to_csv, to_pdf


class StatementSummary(Reply):
    id: int
    period_start: str
    total: str


class StatementList(Reply):
    statements: list[StatementSummary]


class Format(Query):
    format: Literal["json", "csv", "pdf"] = "json"


class Issued(Reply):
    issued_for: list[str]
    failed: list[StatementFailure]
    """Statements that could not be issued; every other one was."""


@route(
    "GET",
    "/api/tenants/{tenant_id}/statements",
    role="read_only",
    summary="The tenant's statements, newest first",
    tag="statements",
    response=StatementList,
)
async def list_statements(call: Call) -> web.Response:
    tenant_id = call.tenant(archived=True)
    found = await call.service.read(lambda c, _cat: listings.statement_rows(c, tenant_id))
    currency = call.service.catalog.currency
    return json_response(
        {
            "statements": [
                {
                    "id": row["id"],
                    "period_start": from_us(row["period_start_us"]).isoformat(),
                    "total": format_minor(row["total_minor"], currency),
                }
                for row in found
            ]
        }
    )


@route(
    "GET",
    "/api/statements/{statement_id}",
    role="read_only",
    summary="A statement (?format=json|csv|pdf)",
    tag="statements",
    query=Format,
    response=JsonObject,
    media_types=("text/csv", "application/pdf"),
)
async def get_statement(call: Call) -> web.Response:
    identifier = call.param("statement_id")
    body = await call.service.read(lambda c, _cat: listings.statement_body(c, int(identifier)))
    if body is None:
        raise not_found("statement", identifier)
    document = {"id": int(identifier), **json.loads(body)}
    match call.query.format:
        case "csv":
            return web.Response(text=to_csv(from_json(document)), content_type="text/csv")
        case "pdf":
            pdf = to_pdf(from_json(document), call.service.formats)
            return web.Response(body=pdf, content_type="application/pdf")
    return json_response(document)


@route(
    "POST",
    "/api/statements/run",
    role="operator",
    summary="Issue the statements due now (the scheduler does this on billing days)",
    tag="statements",
    response=Issued,
)
async def run_statements(call: Call) -> web.Response:
    service = call.service
    issued = await service.run_statements()
    return json_response(
        {
            "issued_for": sorted({period.tenant_id for period in issued}),
            "failed": service.statement_failure_report(),
        }
    )
