"""A small stand-in for the ledger's REST API (docs/ledger-contract.md) on 127.0.0.1."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

TOKEN = "secret-token"


def tenant_state(tenant_id: str = "t101", **overrides: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "name": "Room 101",
        "currency": "EUR",
        "balance": "12.34",
        "status": "ok",
        "status_reason": "balance above threshold",
        "status_since": "2026-11-22T06:00:00+00:00",
        "plan": "prepaid",
        "period_start": "2026-11-01T00:00:00+01:00",
        "period_energy_kwh": "123.456",
        "period_cost": "30.86",
        "quota_kwh": "150.000",
        "quota_remaining_kwh": "26.544",
        "points": ["mqtt:a4cf12ab34cd:1"],
        "cutoff_approved": False,
        "cutoff_awaiting_approval": False,
        "supply": None,
        "supply_action": "none",
        "cutoff_guard_count": 0,
        "cutoff_guard_limit": 3,
        "updated_at": "2026-11-22T06:00:05+00:00",
        **overrides,
    }


class FakeLedger:
    """Keeps tenants in memory and records every request body."""

    def __init__(self) -> None:
        self.tenants: dict[str, dict[str, Any]] = {"t101": tenant_state()}
        self.requests: list[tuple[str, str, Any]] = []
        self.down = False
        self.fail_status: int | None = None  # answer every API call with this JSON error
        self.refusal: dict[str, str] | None = None  # answer money postings 400 with this error
        self.lose_answers = 0  # post, then drop the connection instead of answering (a timeout)
        self.posted: dict[str, int] = {}  # ref -> entry id, as the ledger keeps refs
        self.statement_failures: list[dict[str, str]] = []  # as the ledger's health lists them
        self.journal_entries = 0  # like the ledger's journal: one id per money posting
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def app(self) -> web.Application:
        @web.middleware
        async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
            if self.down:
                return web.Response(status=503, text="down")
            if self.fail_status is not None:
                return web.json_response(
                    {"error": {"code": "internal", "message": "database is locked"}},
                    status=self.fail_status,
                )
            if request.path != "/api/health" and (
                request.headers.get("Authorization") != f"Bearer {TOKEN}"
            ):
                return web.json_response(
                    {"error": {"code": "unauthorized", "message": "bad token"}}, status=401
                )
            body = await request.json() if request.can_read_body else None
            self.requests.append((request.method, request.path, body))
            response: web.StreamResponse = await handler(request)
            return response

        app = web.Application(middlewares=[auth])
        app.router.add_get("/api/health", self._health)
        app.router.add_get("/api/tenants", self._tenants)
        app.router.add_get("/api/tenants/{id}", self._tenant_state)
        app.router.add_post("/api/tenants/{id}/topups", self._balance)
        app.router.add_post("/api/tenants/{id}/adjustments", self._balance)
        app.router.add_put("/api/tenants/{id}/exemption", self._exemption)
        app.router.add_post("/api/tenants/{id}/cutoff-approvals", self._approval)
        app.router.add_post("/api/tenants/{id}/supply", self._supply)
        return app

    def _tenant(self, request: web.Request) -> dict[str, Any]:
        tenant = self.tenants.get(request.match_info["id"])
        if tenant is None:
            raise web.HTTPNotFound(
                text='{"error": {"code": "not_found", "message": "no such tenant"}}',
                content_type="application/json",
            )
        return tenant

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {"status": "ok", "version": "test", "statement_failures": self.statement_failures}
        )

    async def _tenants(self, _request: web.Request) -> web.Response:
        return web.json_response({"tenants": list(self.tenants.values())})

    async def _tenant_state(self, request: web.Request) -> web.Response:
        return web.json_response(self._tenant(request))

    async def _balance(self, request: web.Request) -> web.Response:
        tenant = self._tenant(request)
        body = await request.json()
        if self.refusal is not None:
            return web.json_response({"error": self.refusal}, status=400)
        ref = body.get("ref")
        if ref in self.posted:  # the ledger's idempotency: the same ref posts once
            error = {"code": "already_posted", "message": "posted", "entry_id": self.posted[ref]}
            return web.json_response({"error": error}, status=409)
        tenant["balance"] = str(Decimal(tenant["balance"]) + Decimal(body["amount"]))
        self.journal_entries += 1
        entry_id = self.journal_entries
        if ref is not None:
            self.posted[ref] = entry_id
        if self.lose_answers:
            self.lose_answers -= 1
            assert request.transport is not None
            request.transport.close()  # posted, but the caller never hears of it
        return web.json_response({"entry_id": entry_id, "balance": tenant["balance"]}, status=201)

    async def _exemption(self, request: web.Request) -> web.Response:
        tenant = self._tenant(request)
        body = await request.json()
        tenant["status"] = "exempt" if body["exempt"] else "ok"
        return web.json_response(tenant)

    async def _approval(self, request: web.Request) -> web.Response:
        tenant = self._tenant(request)
        if tenant["status"] not in ("arrears", "disconnect_due"):  # as the ledger: 409
            error = {"code": "conflict", "message": f"no cut-off is due ({tenant['status']})"}
            return web.json_response({"error": error}, status=409)
        tenant["cutoff_approved"] = True
        return web.json_response(tenant, status=201)

    async def _supply(self, request: web.Request) -> web.Response:
        """As the ledger records a report; the decision itself is the test's to set."""
        tenant = self._tenant(request)
        body = await request.json()
        off, cause = body["supply"] == "off", body.get("cause")
        if off != (cause is not None):
            error = {"code": "invalid", "message": "cause is required when off, refused when on"}
            return web.json_response({"error": error}, status=400)
        tenant["supply"] = {
            "state": body["supply"],
            "cause": cause,
            "since": "2026-11-22T06:00:00+00:00",
            "actor": body.get("actor", "token"),
            "reason": body["reason"],
        }
        if cause == "arrears":
            tenant["cutoff_approved"] = False
        return web.json_response(tenant)


@asynccontextmanager
async def running_fake_ledger() -> AsyncIterator[FakeLedger]:
    ledger = FakeLedger()
    server = TestServer(ledger.app(), host="127.0.0.1")
    await server.start_server()
    ledger.server = server
    try:
        yield ledger
    finally:
        await server.close()
