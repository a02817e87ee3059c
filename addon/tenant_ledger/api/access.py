"""Who may do what, and what they did: API tokens and the audit log."""

from typing import Literal

from aiohttp import web
from pydantic import Field

from tenant_ledger import operations as ops
from tenant_ledger.api.contract import Action, Limit, Name, Query
from tenant_ledger.api.models import Reply
from tenant_ledger.api.registry import Call, json_response, route
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import listings


class AuditQuery(Query):
    limit: Limit | None = None


class AuditRow(Reply):
    id: int
    time: str
    actor: str
    principal: str | None
    action: str
    target: str
    reason: str
    details: str = Field(description="JSON object: what changed")


class Audit(Reply):
    audit: list[AuditRow]


class Token(Reply):
    id: int
    name: str
    role: str
    created_at_us: int
    revoked_at_us: int | None


class Tokens(Reply):
    tokens: list[Token]


class NewToken(Action):
    name: Name
    role: Literal["admin", "operator", "read_only"]


class CreatedToken(Reply):
    name: str
    role: str
    token: str


class Revoked(Reply):
    name: str
    revoked: bool


@route(
    "GET",
    "/api/audit",
    role="admin",
    summary=(
        "Audit log, newest first (?limit=, default 100): the actor name a caller gave and the "
        "principal the ledger authenticated (token:<name>, ha_user:<id>, ledger)"
    ),
    tag="audit",
    query=AuditQuery,
    response=Audit,
)
async def get_audit(call: Call) -> web.Response:
    limit = call.limit(100)
    found = await call.service.read(lambda c, _cat: listings.audit_rows(c, limit))
    return json_response(
        {
            "audit": [
                {
                    "id": row["id"],
                    "time": from_us(row["ts_us"]).isoformat(),
                    "actor": row["actor"],
                    "principal": row["principal"],
                    "action": row["action"],
                    "target": row["target"],
                    "reason": row["reason"],
                    "details": row["details"],
                }
                for row in found
            ]
        }
    )


@route(
    "GET",
    "/api/tokens",
    role="admin",
    summary="API tokens (never the secrets)",
    tag="audit",
    response=Tokens,
)
async def list_tokens(call: Call) -> web.Response:
    return json_response({"tokens": await call.service.read(lambda c, _: listings.token_rows(c))})


@route(
    "POST",
    "/api/tokens",
    role="admin",
    summary="Create an API token (shown once)",
    tag="audit",
    status=201,
    body=NewToken,
    response=CreatedToken,
)
async def create_token(call: Call) -> web.Response:
    action, body = call.action, call.body
    token = await call.service.write(
        lambda c, _cat: ops.create_token(c, action, name=body.name, role=body.role)
    )
    return json_response({"name": body.name, "role": body.role, "token": token}, 201)


@route(
    "DELETE",
    "/api/tokens/{name}",
    role="admin",
    summary="Revoke an API token",
    tag="audit",
    response=Revoked,
)
async def revoke_token(call: Call) -> web.Response:
    action, name = call.action, call.param("name")
    await call.service.write(lambda c, _cat: ops.revoke_token(c, action, name=name))
    return json_response({"name": name, "revoked": True})
