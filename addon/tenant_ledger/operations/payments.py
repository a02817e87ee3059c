"""Money in and corrections: each a balanced journal entry, idempotent under its ``ref``."""

import sqlalchemy as sa

from tenant_ledger.db import journal_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import already_posted, invalid
from tenant_ledger.journal import (
    ADJUSTMENTS,
    CASH,
    Entry,
    Leg,
    Posting,
    PostingKind,
    tenant_account,
)
from tenant_ledger.operations.common import require_live


def _credit(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    kind: PostingKind,
    tenant_id: str,
    amount_minor: int,
    counter_account: str,
    ref: str | None,
) -> Entry:
    require_live(catalog, tenant_id)
    if amount_minor == 0:
        raise invalid("amount must not be zero")
    if ref is not None:
        posted = journal_store.entry_with_ref(connection, ref)
        if posted is not None:
            raise already_posted(ref.partition(":")[2], posted)
    entry = journal_store.append(
        connection,
        Posting(
            kind=kind,
            currency=catalog.currency,
            actor=action.actor,
            reason=action.reason,
            tenant_id=tenant_id,
            ref=ref,
            legs=(
                Leg(account=tenant_account(tenant_id), amount_minor=amount_minor),
                Leg(account=counter_account, amount_minor=-amount_minor),
            ),
        ),
        action.now_us,
    )
    audit(connection, action, kind, tenant_id, {"amount_minor": amount_minor, "entry_id": entry.id})
    return entry


def top_up(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    amount_minor: int,
    ref: str | None = None,
) -> Entry:
    """Money paid in (cash at the desk, a transfer): always positive.

    ``ref`` (from ``caller_ref``) makes it idempotent: a second posting with it is refused with
    ``already_posted``, naming the first entry.
    """
    if amount_minor <= 0:
        raise invalid("a top-up must be positive; use an adjustment to take money off")
    return _credit(
        connection,
        catalog,
        action,
        kind=PostingKind.TOP_UP,
        tenant_id=tenant_id,
        amount_minor=amount_minor,
        counter_account=CASH,
        ref=ref,
    )


def adjust(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    tenant_id: str,
    amount_minor: int,
    ref: str | None = None,
) -> Entry:
    """A correction of either sign (goodwill credit, a fee, reversing a mistaken top-up)."""
    return _credit(
        connection,
        catalog,
        action,
        kind=PostingKind.ADJUSTMENT,
        tenant_id=tenant_id,
        amount_minor=amount_minor,
        counter_account=ADJUSTMENTS,
        ref=ref,
    )
