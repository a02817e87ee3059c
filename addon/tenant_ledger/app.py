"""The ledger's aiohttp application: routes from the route table, JSON errors, bearer auth."""

from collections.abc import Awaitable, Callable
import logging

from aiohttp import web

from tenant_ledger.api.auth import bearer_token, find_caller, require_role
from tenant_ledger.api.fields import decode_body, parse_body
from tenant_ledger.api.openapi import openapi_document
from tenant_ledger.api.routes import ROUTES, Call, Route
from tenant_ledger.errors import LedgerError
from tenant_ledger.service import LedgerService

_LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024 * 1024

type _Next = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: _Next) -> web.StreamResponse:
    """Every refusal as ``{"error": {"code", "message"}}``; a bug is a logged 500, never a trace."""
    try:
        return await handler(request)
    except LedgerError as err:
        return _error(err.status, err.code, err.message)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code = err.reason.lower().replace(" ", "_")
        return _error(err.status, code, f"{request.method} {request.path}: {err.reason}")
    except Exception:
        _LOGGER.exception("unexpected error answering %s %s", request.method, request.path)
        return _error(500, "internal_error", "the ledger failed to answer; see its log")


def _handler(route: Route, service: LedgerService) -> _Next:
    async def handle(request: web.Request) -> web.StreamResponse:
        caller = None
        if route.role is not None:
            token = bearer_token(request)
            caller = require_role(
                await service.read(lambda c, _cat: find_caller(c, token)), route.role
            )
        raw = await request.read() if request.can_read_body else b""
        document = decode_body(raw) if route.fields or route.raw_body else {}
        body = (
            {} if route.raw_body else parse_body(document, route.fields, service.catalog.currency)
        )
        call = Call(request=request, service=service, caller=caller, body=body, raw_body=document)
        return await route.handler(call)

    return handle


def create_app(service: LedgerService) -> web.Application:
    """The web application for a started ``service``."""
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    document = openapi_document(ROUTES)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/openapi.json", openapi)
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _handler(route, service))
    return app
