"""Who is asking: the HA user the Supervisor's ingress proxy names, and what they may see.

Ingress sends ``X-Remote-User-*`` and ``X-Ingress-Path``; anyone who can reach the port can
send them too, so they count only when the TCP peer is a trusted proxy (the Supervisor).
"""

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
import re

from aiohttp import web

SUPERVISOR_ADDRESS = "172.30.32.2"
USER_ID_HEADER = "X-Remote-User-Id"
USER_NAME_HEADER = "X-Remote-User-Name"
DISPLAY_NAME_HEADER = "X-Remote-User-Display-Name"
INGRESS_PATH_HEADER = "X-Ingress-Path"
_SAFE_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)*")
_MAX_HEADER = 200


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    """No trusted identity: a direct request, or headers from an untrusted address."""
    UNMAPPED = "unmapped"
    """A known HA user the landlord has not linked to a tenant yet."""
    TENANT = "tenant"
    LANDLORD = "landlord"


@dataclass(frozen=True, kw_only=True, slots=True)
class HaUser:
    user_id: str
    name: str
    display_name: str

    @property
    def label(self) -> str:
        return self.display_name or self.name or self.user_id


@dataclass(frozen=True, kw_only=True, slots=True)
class Identity:
    role: Role
    user: HaUser | None = None
    tenant_id: str | None = None

    @property
    def actor(self) -> str:
        """The name the audit log records: the HA user name, as the API's service calls do."""
        assert self.user is not None
        return self.user.name or self.user.user_id

    @property
    def principal(self) -> str:
        """Who ingress authenticated, for the audit log beside ``actor``: the HA user id."""
        assert self.user is not None
        return f"ha_user:{self.user.user_id}"

    @property
    def is_landlord(self) -> bool:
        return self.role is Role.LANDLORD

    def may_read(self, tenant_id: str) -> bool:
        """Landlords read every tenant; a tenant only their own account."""
        return self.is_landlord or (self.role is Role.TENANT and self.tenant_id == tenant_id)


def _trusted(request: web.Request, trusted_proxies: Collection[str]) -> bool:
    return request.remote is not None and request.remote in trusted_proxies


def _header(request: web.Request, name: str) -> str:
    """The header's text; one that is not printable text (bytes that are not UTF-8 arrive as
    lone surrogates, which no database stores) counts as absent."""
    value = request.headers.get(name, "").strip()[:_MAX_HEADER]
    return value if value.isprintable() else ""


def ha_user(request: web.Request, trusted_proxies: Collection[str]) -> HaUser | None:
    """The HA user ingress names, or None (no header, or not from a trusted proxy)."""
    if not _trusted(request, trusted_proxies):
        return None
    user_id = _header(request, USER_ID_HEADER)
    if not user_id:
        return None
    return HaUser(
        user_id=user_id,
        name=_header(request, USER_NAME_HEADER),
        display_name=_header(request, DISPLAY_NAME_HEADER),
    )


def ingress_prefix(request: web.Request, trusted_proxies: Collection[str]) -> str:
    """The path every link starts with: ingress's ``/api/hassio_ingress/<token>``, else ""."""
    if not _trusted(request, trusted_proxies):
        return ""
    prefix = _header(request, INGRESS_PATH_HEADER).rstrip("/")
    return prefix if _SAFE_PREFIX.fullmatch(prefix) else ""


def identify(user: HaUser | None, landlords: Collection[str], tenant_id: str | None) -> Identity:
    """The role of ``user``: landlord when named (by user name or id) in ``landlords``."""
    if user is None:
        return Identity(role=Role.ANONYMOUS)
    if user.user_id in landlords or (user.name and user.name in landlords):
        return Identity(role=Role.LANDLORD, user=user)
    if tenant_id is None:
        return Identity(role=Role.UNMAPPED, user=user)
    return Identity(role=Role.TENANT, user=user, tenant_id=tenant_id)
