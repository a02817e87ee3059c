"""The tenant portal's own door: sign-in links with a PIN, and the sessions they open.

A link is made for one tenant by the landlord: a random token (in the URL the landlord prints
or sends) and a short PIN, each returned once. The portal signs a tenant in when the token is
known, its link not revoked, the tenant live and the PIN right; the session then reads only
that tenant's account. Revoking the link or archiving the tenant ends its sessions.
"""

from dataclasses import dataclass
import hashlib
import hmac
import secrets

import sqlalchemy as sa

from tenant_ledger.db import portal_store
from tenant_ledger.db.access_store import hash_token
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.portal_store import PortalLink, PortalSession
from tenant_ledger.errors import not_found
from tenant_ledger.operations.common import require_live

PIN_DIGITS = 6
TOKEN_CHARS = 43
"""``secrets.token_urlsafe(32)``: 256 random bits."""
SCRYPT_COST = 2**14
"""scrypt's N: 16 MiB and some 30-60 ms per PIN check, so a stolen table resists guessing while
a sign-in stays quick on a Raspberry Pi."""
_SCRYPT_BLOCK = 8
_SCRYPT_PARALLEL = 1
_US = 1_000_000


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionPolicy:
    idle_us: int = 12 * 3600 * _US
    """A session nobody used for this long has ended."""
    absolute_us: int = 30 * 24 * 3600 * _US
    """No session outlives this, however busy: the PIN is asked again."""


DEFAULT_SESSIONS = SessionPolicy()


@dataclass(frozen=True, kw_only=True, slots=True)
class NewLink:
    link_id: int
    token: str
    pin: str


def pin_digest(pin: str, salt: bytes) -> str:
    digest = hashlib.scrypt(
        pin.encode(), salt=salt, n=SCRYPT_COST, r=_SCRYPT_BLOCK, p=_SCRYPT_PARALLEL, dklen=32
    )
    return digest.hex()


def well_formed_token(token: str) -> bool:
    return (
        len(token) == TOKEN_CHARS
        and token.isascii()
        and token.replace("-", "a").replace("_", "a").isalnum()
    )


def _well_formed_pin(pin: str) -> bool:
    return len(pin) == PIN_DIGITS and pin.isascii() and pin.isdigit()


def create_link(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str
) -> NewLink:
    """A new sign-in link and PIN for the tenant (its other links stay valid until revoked)."""
    require_live(catalog, tenant_id)
    token = secrets.token_urlsafe(32)
    pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
    salt = secrets.token_bytes(16)
    link_id = portal_store.insert_link(
        connection,
        tenant_id=tenant_id,
        token_hash=hash_token(token),
        pin_salt=salt.hex(),
        pin_hash=pin_digest(pin, salt),
        at_us=action.now_us,
    )
    audit(connection, action, "create_portal_link", tenant_id, {"link_id": link_id})
    return NewLink(link_id=link_id, token=token, pin=pin)


def revoke_link(connection: sa.Connection, action: Action, *, tenant_id: str, link_id: int) -> None:
    """Revoke the link; its sessions end now."""
    if not portal_store.revoke_link(
        connection, link_id=link_id, tenant_id=tenant_id, at_us=action.now_us
    ):
        raise not_found("active portal link", str(link_id))
    audit(connection, action, "revoke_portal_link", tenant_id, {"link_id": link_id})


def find_link(connection: sa.Connection, catalog: Catalog, token: str) -> PortalLink | None:
    """The active link of a live tenant the token opens, or None."""
    if not well_formed_token(token):
        return None
    link = portal_store.link_by_token_hash(connection, hash_token(token))
    if link is None or link.revoked_at_us is not None or link.tenant_id not in catalog.tenants:
        return None
    return link


def sign_in(
    connection: sa.Connection,
    action: Action,
    *,
    link: PortalLink,
    pin: str,
    policy: SessionPolicy,
) -> str | None:
    """A new session's cookie value when ``pin`` is the link's PIN, else None."""
    if not _well_formed_pin(pin):
        return None
    given = pin_digest(pin, bytes.fromhex(link.pin_salt))
    if not hmac.compare_digest(given, link.pin_hash):
        return None
    session = secrets.token_urlsafe(32)
    portal_store.insert_session(
        connection,
        session_hash=hash_token(session),
        link_id=link.link_id,
        at_us=action.now_us,
        expires_at_us=action.now_us + policy.absolute_us,
    )
    audit(connection, action, "portal_sign_in", link.tenant_id, {"link_id": link.link_id})
    return session


def live_session(
    connection: sa.Connection, session: str, now_us: int, policy: SessionPolicy
) -> PortalSession | None:
    """The session when it is open and neither idle too long nor past its absolute end."""
    if not well_formed_token(session):
        return None
    found = portal_store.open_session(connection, hash_token(session))
    if found is None or now_us > found.expires_at_us:
        return None
    return None if now_us - found.last_seen_us > policy.idle_us else found


def touch_session(connection: sa.Connection, session: str, now_us: int) -> None:
    """The session was used now (the idle clock starts again)."""
    portal_store.touch_session(connection, hash_token(session), now_us)


def sign_out(connection: sa.Connection, action: Action, *, session: str, tenant_id: str) -> None:
    if portal_store.end_session(connection, hash_token(session), action.now_us):
        audit(connection, action, "portal_sign_out", tenant_id, {})
