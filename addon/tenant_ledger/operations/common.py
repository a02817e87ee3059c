"""What every operator action shares: idempotency keys, the existence checks, the roles."""

from collections.abc import Collection
from enum import StrEnum

from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import conflict, not_found

ROLES = ("admin", "operator", "read_only")


class RefSource(StrEnum):
    """Where an idempotency key came from. The journal's refs are one namespace, so each source
    has its own prefix and none can collide with the ledger's own (``standing:…``, ``common:…``),
    which would otherwise block billing."""

    API = "api"
    """A caller's ``ref`` (the HA actions send their call's context id)."""
    FORM = "form"
    """The one-time key of a console money form."""


def caller_ref(source: RefSource, key: str) -> str:
    return f"{source}:{key}"


def require(kind: str, identifier: str, known: Collection[str]) -> None:
    if identifier not in known:
        raise not_found(kind, identifier)


def require_live(catalog: Catalog, tenant_id: str) -> None:
    """The tenant exists and is not archived (archived tenants take no more actions)."""
    if tenant_id in catalog.archived_tenants:
        raise conflict(f"tenant {tenant_id} is archived")
    require("tenant", tenant_id, catalog.tenants)
