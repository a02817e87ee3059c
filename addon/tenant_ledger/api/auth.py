"""Bearer tokens: stored as sha256, each with a role; a route names the least role it needs."""

from dataclasses import dataclass

from aiohttp import web
import sqlalchemy as sa

from tenant_ledger.db import access_store
from tenant_ledger.errors import LedgerError
from tenant_ledger.operations import ROLES

# Higher roles may do everything lower ones may: admin > operator > read_only.
_RANK = {role: rank for rank, role in enumerate(reversed(ROLES))}


MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True, kw_only=True)
class Caller:
    name: str
    role: str

    @property
    def principal(self) -> str:
        """The token's own identity for the audit log (token names are unique, never reused)."""
        return f"token:{self.name}"


def bearer_token(request: web.Request) -> str:
    """The token of ``Authorization: Bearer <token>``; anything else is a 401.

    aiohttp decodes header bytes as UTF-8 with surrogate escapes, so a header that is not
    UTF-8 arrives with lone surrogates: it can be no token of ours.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise LedgerError(401, "unauthorized", "send Authorization: Bearer <API token>")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        raise LedgerError(401, "unauthorized", "unknown or revoked API token")
    return token


def find_caller(connection: sa.Connection, token: str) -> Caller | None:
    found = access_store.active_token(connection, token)
    return None if found is None else Caller(name=found[0], role=found[1])


def require_role(caller: Caller | None, role: str) -> Caller:
    if caller is None:
        raise LedgerError(401, "unauthorized", "unknown or revoked API token")
    if _RANK[caller.role] < _RANK[role]:
        raise LedgerError(
            403, "forbidden", f"this needs the {role} role; the token is {caller.role}"
        )
    return caller
