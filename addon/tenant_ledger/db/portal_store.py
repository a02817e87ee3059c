"""The tenant portal's sign-in links and sessions (the portal's own door, not Home Assistant).

Only hashes are stored: the link token's and the session cookie's sha256 (both random, 256
bits, so a plain hash suffices), and the PIN's salted scrypt (a PIN is short and guessable).
"""

from dataclasses import dataclass

import sqlalchemy as sa

from tenant_ledger.db.schema import portal_links, portal_sessions, tenants


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalLink:
    link_id: int
    tenant_id: str
    pin_salt: str
    pin_hash: str
    created_at_us: int
    revoked_at_us: int | None


@dataclass(frozen=True, kw_only=True, slots=True)
class PortalSession:
    link_id: int
    tenant_id: str
    created_at_us: int
    last_seen_us: int
    expires_at_us: int


_LINK_COLUMNS = (
    portal_links.c.id.label("link_id"),
    portal_links.c.tenant_id,
    portal_links.c.pin_salt,
    portal_links.c.pin_hash,
    portal_links.c.created_at_us,
    portal_links.c.revoked_at_us,
)


def insert_link(
    connection: sa.Connection,
    *,
    tenant_id: str,
    token_hash: str,
    pin_salt: str,
    pin_hash: str,
    at_us: int,
) -> int:
    result = connection.execute(
        portal_links.insert().values(
            tenant_id=tenant_id,
            token_hash=token_hash,
            pin_salt=pin_salt,
            pin_hash=pin_hash,
            created_at_us=at_us,
        )
    )
    (link_id,) = result.inserted_primary_key or (None,)
    assert isinstance(link_id, int)
    return link_id


def link_by_token_hash(connection: sa.Connection, token_hash: str) -> PortalLink | None:
    row = connection.execute(
        sa.select(*_LINK_COLUMNS).where(portal_links.c.token_hash == token_hash)
    ).first()
    return None if row is None else PortalLink(**row._mapping)


def links_of_tenant(connection: sa.Connection, tenant_id: str) -> list[PortalLink]:
    """Every link made for the tenant, newest first (revoked ones too: the landlord's record)."""
    query = (
        sa.select(*_LINK_COLUMNS)
        .where(portal_links.c.tenant_id == tenant_id)
        .order_by(portal_links.c.id.desc())
    )
    return [PortalLink(**row._mapping) for row in connection.execute(query)]


def revoke_link(connection: sa.Connection, *, link_id: int, tenant_id: str, at_us: int) -> bool:
    """Revoke the tenant's active link and end its sessions; False when there is none."""
    result = connection.execute(
        portal_links.update()
        .where(
            (portal_links.c.id == link_id)
            & (portal_links.c.tenant_id == tenant_id)
            & portal_links.c.revoked_at_us.is_(None)
        )
        .values(revoked_at_us=at_us)
    )
    if not result.rowcount:
        return False
    end_sessions_of_links(connection, [link_id], at_us)
    return True


def revoke_links_of_tenant(connection: sa.Connection, tenant_id: str, at_us: int) -> list[int]:
    """Revoke every active link of the tenant and end their sessions; the ids revoked."""
    active = [
        link.link_id
        for link in links_of_tenant(connection, tenant_id)
        if link.revoked_at_us is None
    ]
    if active:
        connection.execute(
            portal_links.update().where(portal_links.c.id.in_(active)).values(revoked_at_us=at_us)
        )
        end_sessions_of_links(connection, active, at_us)
    return active


def end_sessions_of_links(connection: sa.Connection, link_ids: list[int], at_us: int) -> None:
    # Never before a session began, even when the ledger's clock was set back (--now).
    began = portal_sessions.c.created_at_us
    connection.execute(
        portal_sessions.update()
        .where(portal_sessions.c.link_id.in_(link_ids) & portal_sessions.c.ended_at_us.is_(None))
        .values(ended_at_us=sa.case((began > at_us, began), else_=at_us))
    )


def insert_session(
    connection: sa.Connection, *, session_hash: str, link_id: int, at_us: int, expires_at_us: int
) -> None:
    connection.execute(
        portal_sessions.insert().values(
            session_hash=session_hash,
            link_id=link_id,
            created_at_us=at_us,
            last_seen_us=at_us,
            expires_at_us=expires_at_us,
        )
    )


def open_session(connection: sa.Connection, session_hash: str) -> PortalSession | None:
    """The session when it has not ended, its link is not revoked and its tenant is live."""
    row = connection.execute(
        sa.select(
            portal_sessions.c.link_id,
            portal_links.c.tenant_id,
            portal_sessions.c.created_at_us,
            portal_sessions.c.last_seen_us,
            portal_sessions.c.expires_at_us,
        )
        .join(portal_links, portal_links.c.id == portal_sessions.c.link_id)
        .join(tenants, tenants.c.id == portal_links.c.tenant_id)
        .where(
            (portal_sessions.c.session_hash == session_hash)
            & portal_sessions.c.ended_at_us.is_(None)
            & portal_links.c.revoked_at_us.is_(None)
            & tenants.c.archived_at_us.is_(None)
        )
    ).first()
    return None if row is None else PortalSession(**row._mapping)


def touch_session(connection: sa.Connection, session_hash: str, at_us: int) -> None:
    connection.execute(
        portal_sessions.update()
        .where(
            (portal_sessions.c.session_hash == session_hash)
            & (portal_sessions.c.last_seen_us < at_us)
            & (portal_sessions.c.expires_at_us >= at_us)
        )
        .values(last_seen_us=at_us)
    )


def end_session(connection: sa.Connection, session_hash: str, at_us: int) -> bool:
    """End the session (sign-out or expiry); False when it had ended already."""
    result = connection.execute(
        portal_sessions.update()
        .where(
            (portal_sessions.c.session_hash == session_hash)
            & portal_sessions.c.ended_at_us.is_(None)
            & (portal_sessions.c.created_at_us <= at_us)
        )
        .values(ended_at_us=at_us)
    )
    return bool(result.rowcount)
