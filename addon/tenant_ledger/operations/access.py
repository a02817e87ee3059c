"""Who may see a tenant's account (linked Home Assistant users) and who may call the API."""

import secrets

import sqlalchemy as sa

from tenant_ledger.db import access_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import conflict, invalid, not_found
from tenant_ledger.operations.common import ROLES, require_live


def link_user(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    user_id: str,
    label: str,
    tenant_id: str,
    replace: bool = True,
) -> str | None:
    """Let Home Assistant user ``user_id`` see ``tenant_id``'s account.

    A user sees one tenant: an existing link to another tenant is replaced, or with
    ``replace=False`` refused (409). Returns the tenant the user was linked to before, if any.
    """
    require_live(catalog, tenant_id)
    previous = access_store.tenant_of_user(connection, user_id)
    if previous not in (None, tenant_id) and not replace:
        raise conflict(f"HA user {user_id} is linked to tenant {previous}; unlink it there first")
    access_store.link_user(
        connection, user_id=user_id, tenant_id=tenant_id, label=label, at_us=action.now_us
    )
    audit(connection, action, "link_ha_user", tenant_id, {"user_id": user_id, "label": label})
    return previous


def unlink_user(connection: sa.Connection, action: Action, *, user_id: str, tenant_id: str) -> None:
    if not access_store.unlink_user(connection, user_id=user_id, tenant_id=tenant_id):
        raise not_found("HA user link", user_id)
    audit(connection, action, "unlink_ha_user", tenant_id, {"user_id": user_id})


def create_token(
    connection: sa.Connection, action: Action, *, name: str, role: str, token: str | None = None
) -> str:
    """A new API token; only its sha256 is stored, the token itself is returned once."""
    if role not in ROLES:
        raise invalid(f"role must be one of {', '.join(ROLES)}")
    plain = token or secrets.token_urlsafe(32)
    if access_store.token_named(connection, name):
        raise conflict(f"a token named {name!r} already exists")
    access_store.insert_token(connection, name=name, role=role, token=plain, at_us=action.now_us)
    audit(connection, action, "create_token", name, {"role": role})
    return plain


def revoke_token(connection: sa.Connection, action: Action, *, name: str) -> None:
    if not access_store.revoke_token(connection, name, action.now_us):
        raise not_found("token", name)
    audit(connection, action, "revoke_token", name, {})
