"""Money in and corrections: each a balanced journal entry, idempotent under its ``ref``."""

from functools import partial
from typing import Final

import sqlalchemy as sa

from tenant_ledger.db import journal_store
from tenant_ledger.db.audit import Action, audit
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.errors import already_posted, conflict, invalid, not_found
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

_COUNTER_ACCOUNT: Final = {PostingKind.TOP_UP: CASH, PostingKind.ADJUSTMENT: ADJUSTMENTS}
"""Where the money of each kind of credit comes from (the entry's other leg)."""
REVERSIBLE: Final = frozenset(_COUNTER_ACCOUNT)
"""What a landlord may reverse: the money they posted. Rated energy, standing charges and
statements follow from readings and tariffs; they are corrected with an adjustment."""


def credit(
    connection: sa.Connection,
    catalog: Catalog,
    action: Action,
    *,
    kind: PostingKind,
    tenant_id: str,
    amount_minor: int,
    ref: str | None = None,
) -> Entry:
    """Post money to the tenant's account: a top-up (money paid in, always positive) or an
    adjustment (a correction of either sign: goodwill credit, a fee, a mistaken top-up undone).

    ``ref`` (from ``caller_ref``) makes it idempotent: a second posting with it is refused with
    ``already_posted``, naming the first entry.
    """
    if kind is PostingKind.TOP_UP and amount_minor <= 0:
        raise invalid("a top-up must be positive; use an adjustment to take money off")
    require_live(catalog, tenant_id)
    if amount_minor == 0:
        raise invalid("amount must not be zero")
    if ref is not None and (posted := journal_store.entry_with_ref(connection, ref)) is not None:
        raise already_posted(ref.partition(":")[2], posted)
    legs = (
        Leg(account=tenant_account(tenant_id), amount_minor=amount_minor),
        Leg(account=_COUNTER_ACCOUNT[kind], amount_minor=-amount_minor),
    )
    posting = Posting(
        kind=kind,
        currency=catalog.currency,
        actor=action.actor,
        reason=action.reason,
        tenant_id=tenant_id,
        ref=ref,
        legs=legs,
    )
    entry = journal_store.append(connection, posting, action.now_us)
    audit(connection, action, kind, tenant_id, {"amount_minor": amount_minor, "entry_id": entry.id})
    return entry


top_up = partial(credit, kind=PostingKind.TOP_UP)
adjust = partial(credit, kind=PostingKind.ADJUSTMENT)


def reversal_ref(entry_id: int) -> str:
    """The one ref a reversal of ``entry_id`` posts under: refs are unique, so the database
    refuses a second reversal of the same entry whatever the caller does."""
    return f"reversal:{entry_id}"


def reverse(
    connection: sa.Connection, catalog: Catalog, action: Action, *, tenant_id: str, entry_id: int
) -> Entry:
    """Undo the tenant's top-up or adjustment ``entry_id``: a new entry with its legs negated.

    The reason is required (``action.reason``); a second reversal of the same entry is refused
    with ``already_posted``, naming the reversal.
    """
    if not action.reason.strip():
        raise invalid("a reversal needs a reason")
    require_live(catalog, tenant_id)
    original = journal_store.entry(connection, entry_id)
    if original is None or original.posting.tenant_id != tenant_id:
        raise not_found("entry", str(entry_id))
    if original.posting.kind not in REVERSIBLE:
        raise conflict(
            f"entry {entry_id} is {original.posting.kind}; only top-ups and adjustments are "
            "reversed (correct anything else with an adjustment)"
        )
    ref = reversal_ref(entry_id)
    if (posted := journal_store.entry_with_ref(connection, ref)) is not None:
        raise already_posted(ref, posted)
    posting = Posting(
        kind=PostingKind.REVERSAL,
        currency=original.posting.currency,
        actor=action.actor,
        reason=action.reason,
        tenant_id=tenant_id,
        ref=ref,
        legs=tuple(
            Leg(account=leg.account, amount_minor=-leg.amount_minor)
            for leg in original.posting.legs
        ),
    )
    entry = journal_store.append(connection, posting, action.now_us)
    audit(
        connection,
        action,
        PostingKind.REVERSAL,
        tenant_id,
        {"reversed_entry_id": entry_id, "entry_id": entry.id},
    )
    return entry
