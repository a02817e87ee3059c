"""The one route registry: each resource module registers its handlers here with ``route``.

A route names its method, path, least role, body/query models and response model; the app
mounts the table and ``openapi.py`` writes the document from it, so neither can drift.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from tenant_ledger import operations as ops
from tenant_ledger.api.auth import Caller
from tenant_ledger.api.contract import MAX_QUERY_INT, Request, path_parameter
from tenant_ledger.errors import LedgerError, not_found
from tenant_ledger.service import LedgerService

MAX_LIMIT = 10_000


@dataclass(frozen=True, kw_only=True)
class Call:
    """One authorised request with its validated body and query."""

    request: web.Request
    service: LedgerService
    caller: Caller | None
    body: Any
    query: Any

    @property
    def action(self) -> ops.Action:
        """Who acts: the caller's ``actor`` name beside the token's own identity, and why."""
        named: str | None = getattr(self.body, "actor", None)
        reason: str | None = getattr(self.body, "reason", None)
        return ops.Action(
            actor=named or (self.caller.name if self.caller else "anonymous"),
            reason=reason or "",
            now_us=self.service.clock(),
            principal=self.caller.principal if self.caller else "anonymous",
        )

    def acting(self, default_reason: str) -> ops.Action:
        """``action``, with ``default_reason`` when the caller gave none."""
        action = self.action
        return action if action.reason else replace(action, reason=default_reason)

    def param(self, name: str) -> str:
        """A path parameter; one outside its type names nothing (404)."""
        return path_parameter(name, self.request.match_info[name])

    def limit(self, default: int) -> int:
        value = self.query.limit
        return default if value is None else min(value, MAX_LIMIT)

    def tenant(self, *, archived: bool = False) -> str:
        """The live tenant in the path (``archived``: an archived one will do too)."""
        tenant_id = self.param("tenant_id")
        catalog = self.service.catalog
        if tenant_id in catalog.tenants or (archived and tenant_id in catalog.archived_tenants):
            return tenant_id
        if tenant_id in catalog.archived_tenants:
            raise LedgerError(404, "not_found", f"tenant {tenant_id} is archived")
        raise not_found("tenant", tenant_id)

    def state(self, tenant_id: str, status: int = 200) -> web.Response:
        return web.json_response(self.service.states[tenant_id], status=status)


def capped(value: int | None, default: int) -> int:
    """A query integer, ``default`` when absent, at most ``MAX_QUERY_INT``."""
    return default if value is None else min(value, MAX_QUERY_INT)


type Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, kw_only=True)
class Response:
    """One documented answer: its status, description and JSON model (None: no JSON body)."""

    status: int
    model: type[BaseModel] | None
    description: str = "done"
    media_types: tuple[str, ...] = ()
    """Other media types of the same answer (statements as CSV or PDF)."""


@dataclass(frozen=True, kw_only=True)
class Route:
    method: str
    path: str
    handler: Handler
    role: str | None
    summary: str
    tag: str
    body: type[Request] | None
    query: type[Request] | None
    responses: tuple[Response, ...]

    @property
    def status(self) -> int:
        return self.responses[0].status


ROUTES: list[Route] = []


def route(
    method: str,
    path: str,
    *,
    role: str | None,
    summary: str,
    tag: str,
    response: type[BaseModel] | None,
    status: int = 200,
    body: type[Request] | None = None,
    query: type[Request] | None = None,
    also: tuple[Response, ...] = (),
    media_types: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register the decorated handler; ``also`` documents further successful answers."""

    def register(handler: Handler) -> Handler:
        answers = (Response(status=status, model=response, media_types=media_types), *also)
        ROUTES.append(
            Route(
                method=method,
                path=path,
                handler=handler,
                role=role,
                summary=summary,
                tag=tag,
                body=body,
                query=query,
                responses=answers,
            )
        )
        return handler

    return register


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
