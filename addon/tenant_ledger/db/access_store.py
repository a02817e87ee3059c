"""Who may see and do what: Home Assistant users linked to tenants, and the API tokens.

Only a token's sha256 is stored; the token itself is shown once, when it is made.
"""

import hashlib

import sqlalchemy as sa

from tenant_ledger.db.schema import api_tokens, ha_user_links


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tenant_of_user(connection: sa.Connection, user_id: str) -> str | None:
    """The tenant the Home Assistant user is linked to, if any."""
    return connection.execute(
        sa.select(ha_user_links.c.tenant_id).where(ha_user_links.c.user_id == user_id)
    ).scalar()


def users_of_tenant(connection: sa.Connection, tenant_id: str) -> list[tuple[str, str]]:
    """(user id, label) of the Home Assistant users linked to the tenant."""
    query = (
        sa.select(ha_user_links.c.user_id, ha_user_links.c.label)
        .where(ha_user_links.c.tenant_id == tenant_id)
        .order_by(ha_user_links.c.label)
    )
    return [(row.user_id, row.label) for row in connection.execute(query)]


def link_user(
    connection: sa.Connection, *, user_id: str, tenant_id: str, label: str, at_us: int
) -> None:
    """Link the user to the tenant, replacing any link the user had."""
    connection.execute(ha_user_links.delete().where(ha_user_links.c.user_id == user_id))
    connection.execute(
        ha_user_links.insert().values(
            user_id=user_id, tenant_id=tenant_id, label=label, linked_at_us=at_us
        )
    )


def unlink_user(connection: sa.Connection, *, user_id: str, tenant_id: str) -> bool:
    """Remove the link; False when there was none."""
    result = connection.execute(
        ha_user_links.delete().where(
            (ha_user_links.c.user_id == user_id) & (ha_user_links.c.tenant_id == tenant_id)
        )
    )
    return bool(result.rowcount)


def unlink_tenant(connection: sa.Connection, tenant_id: str) -> None:
    connection.execute(ha_user_links.delete().where(ha_user_links.c.tenant_id == tenant_id))


def token_named(connection: sa.Connection, name: str) -> bool:
    query = sa.select(api_tokens.c.id).where(api_tokens.c.name == name)
    return connection.execute(query).first() is not None


def any_token(connection: sa.Connection) -> bool:
    return connection.execute(sa.select(api_tokens.c.id).limit(1)).first() is not None


def token_known(connection: sa.Connection, token: str, *, active_only: bool) -> bool:
    """The token was made here (``active_only``: and is not revoked)."""
    query = sa.select(api_tokens.c.id).where(api_tokens.c.token_hash == hash_token(token))
    if active_only:
        query = query.where(api_tokens.c.revoked_at_us.is_(None))
    return connection.execute(query).first() is not None


def active_token(connection: sa.Connection, token: str) -> tuple[str, str] | None:
    """(name, role) of the token when it is known and not revoked."""
    row = connection.execute(
        sa.select(api_tokens.c.name, api_tokens.c.role).where(
            (api_tokens.c.token_hash == hash_token(token)) & api_tokens.c.revoked_at_us.is_(None)
        )
    ).first()
    return None if row is None else (row.name, row.role)


def insert_token(
    connection: sa.Connection, *, name: str, role: str, token: str, at_us: int
) -> None:
    connection.execute(
        api_tokens.insert().values(
            name=name, role=role, token_hash=hash_token(token), created_at_us=at_us
        )
    )


def revoke_token(connection: sa.Connection, name: str, at_us: int) -> bool:
    """Revoke the active token ``name``; False when there is none."""
    result = connection.execute(
        api_tokens.update()
        .where((api_tokens.c.name == name) & api_tokens.c.revoked_at_us.is_(None))
        .values(revoked_at_us=at_us)
    )
    return bool(result.rowcount)


def revoke_tokens_named_like(connection: sa.Connection, prefix: str, at_us: int) -> None:
    """Revoke every active token whose name starts with ``prefix``."""
    connection.execute(
        api_tokens.update()
        .where(api_tokens.c.name.startswith(prefix) & api_tokens.c.revoked_at_us.is_(None))
        .values(revoked_at_us=at_us)
    )
