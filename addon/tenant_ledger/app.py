"""The ledger's aiohttp application: routes from the route table, JSON errors, bearer auth."""

from collections.abc import Awaitable, Callable
import json
import logging

from aiohttp import web
from pydantic import ValidationError

from tenant_ledger.api.auth import bearer_token, find_caller, require_role
from tenant_ledger.api.contract import decode_body, parse, parse_body, path_parameter
from tenant_ledger.api.openapi import openapi_document
from tenant_ledger.api.routes import ROUTES, Call, Route
from tenant_ledger.errors import LedgerError, invalid
from tenant_ledger.service import LedgerService

_LOGGER = logging.getLogger(__name__)
MAX_BODY_BYTES = 16 * 1024 * 1024

type _Next = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str, **details: object) -> web.Response:
    error = {"code": code, "message": message, **details}
    return web.json_response({"error": error}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: _Next) -> web.StreamResponse:
    """Every refusal as ``{"error": {"code", "message"}}``; a bug is a logged 500, never a trace."""
    try:
        return await handler(request)
    except LedgerError as err:
        return _error(err.status, err.code, err.message, **err.details)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        code = err.reason.lower().replace(" ", "_")
        response = _error(err.status, code, f"{request.method} {request.path}: {err.reason}")
        if "Allow" in err.headers:  # a 405 says which methods the path has
            response.headers["Allow"] = err.headers["Allow"]
        return response
    except Exception:
        _LOGGER.exception("unexpected error answering %s %s", request.method, request.path)
        return _error(500, "internal_error", "the ledger failed to answer; see its log")


def _check_answer(route: Route, response: web.StreamResponse) -> None:
    """Raise if ``response`` is not what the document promises for ``route`` (tests turn it on)."""
    answers = {answer.status: answer for answer in route.responses}
    if response.status >= 400 or not isinstance(response, web.Response):
        return
    answer = answers.get(response.status)
    if answer is None:
        raise AssertionError(f"{route.path}: undocumented status {response.status}")
    if answer.model is not None and response.content_type != "application/json":
        if response.content_type not in answer.media_types:
            raise AssertionError(f"{route.path}: undocumented {response.content_type}")
        return
    if answer.model is None:
        if response.body:
            raise AssertionError(f"{route.path}: a body where none is documented")
        return
    if response.text is None:
        raise AssertionError(f"{route.path}: no JSON body")
    try:
        answer.model.model_validate(json.loads(response.text))
    except ValidationError as err:
        raise AssertionError(f"{route.path}: the answer does not match its model: {err}") from err


def _query(request: web.Request) -> dict[str, str]:
    """The query parameters, each given once (a repeated one would be a list, which none is)."""
    repeated = sorted(name for name in request.query if len(request.query.getall(name)) > 1)
    if repeated:
        raise invalid(f"query parameter {repeated[0][:80]!r} is given more than once")
    return dict(request.query)


def _handler(route: Route, service: LedgerService, *, check_answers: bool) -> _Next:
    async def handle(request: web.Request) -> web.StreamResponse:
        caller = None
        if route.role is not None:
            token = bearer_token(request)
            caller = require_role(
                await service.read(lambda c, _cat: find_caller(c, token)), route.role
            )
        for name, value in request.match_info.items():
            path_parameter(name, value)
        currency = service.catalog.currency
        if route.query is None and request.query:
            raise invalid(f"{route.method} {route.path} takes no query parameters")
        body = None
        if route.body is not None:
            body = parse_body(route.body, decode_body(await request.read()), currency)
        query = None if route.query is None else parse(route.query, _query(request), currency)
        call = Call(request=request, service=service, caller=caller, body=body, query=query)
        response = await route.handler(call)
        if check_answers:
            _check_answer(route, response)
        return response

    return handle


def create_app(service: LedgerService, *, check_answers: bool = False) -> web.Application:
    """The web application for a started ``service``.

    ``check_answers``: every successful answer is checked against its documented model (an
    undocumented one becomes a 500), so tests prove the document describes what is sent.
    """
    app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
    document = openapi_document(ROUTES, service.catalog.currency)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/api/openapi.json", openapi)
    for route in ROUTES:
        app.router.add_route(
            route.method, route.path, _handler(route, service, check_answers=check_answers)
        )
    return app
