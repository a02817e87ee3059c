"""The service itself: liveness, version and ingestion counters."""

from typing import Literal

from aiohttp import web
from pydantic import Field

from tenant_ledger import __version__
from tenant_ledger.api.models import Reply
from tenant_ledger.api.registry import Call, Response, json_response, route


class StatementFailure(Reply):
    tenant_id: str
    period_start: str
    error: str
    since: str


class Health(Reply):
    status: Literal["ok"]
    version: str
    currency: str
    read_only: bool
    ingest: Literal["ok", "stalled"] = "ok"
    statement_failures: list[StatementFailure] = Field(default_factory=list)
    """Statements the ledger could not issue (retried every run; the others were issued)."""


class Stats(Reply):
    counters: dict[str, int]
    read_only: bool
    integrity_errors: list[str]


@route(
    "GET",
    "/api/health",
    role=None,
    summary="Liveness and version (503 while readings cannot be stored)",
    tag="service",
    response=Health,
    also=(Response(status=503, model=Health, description="ingestion is stalled"),),
)
async def health(call: Call) -> web.Response:
    service = call.service
    return json_response(
        {
            "status": "ok",
            "version": __version__,
            "currency": service.catalog.currency,
            "read_only": service.read_only,
            "ingest": "stalled" if service.ingest_stalled else "ok",
            "statement_failures": service.statement_failure_report(),
        },
        503 if service.ingest_stalled else 200,
    )


@route(
    "GET",
    "/api/stats",
    role="read_only",
    summary="Ingestion counters",
    tag="service",
    response=Stats,
)
async def stats(call: Call) -> web.Response:
    return json_response(
        {
            "counters": dict(call.service.counters),
            "read_only": call.service.read_only,
            "integrity_errors": [str(error) for error in call.service.integrity_errors],
        }
    )
