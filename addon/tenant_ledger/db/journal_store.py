"""Appending to and reading the hash-chained journal; balances are sums, never stored."""

from collections.abc import Iterable, Sequence
import json

import sqlalchemy as sa

from tenant_ledger.db.engine import key_of
from tenant_ledger.db.schema import audit_log, journal, journal_legs
from tenant_ledger.journal import (
    GENESIS_HASH,
    Entry,
    Error,
    Leg,
    Posting,
    chain,
    tenant_account,
    validate,
    validate_kinds,
)
from tenant_ledger.ledger_key import LedgerKey

HEAD_KEY = "journal_head"
"""Where audit rows record the journal's head ([id, hash]) outside the journal itself."""


def append(connection: sa.Connection, posting: Posting, ts_us: int) -> Entry:
    """Chain ``posting`` after the last entry and insert it (inside the caller's transaction).

    The ledger is the journal's only writer and runs every write on one thread, so reading the
    tail and inserting after it cannot interleave with another append. The entry's hash is keyed
    (the connection carries the key); its legs go in first, because the database accepts an
    entry only once its legs balance (db/guards.py).
    """
    return append_all(connection, [posting], ts_us)[0]


def append_all(connection: sa.Connection, postings: Sequence[Posting], ts_us: int) -> list[Entry]:
    """``append`` for several postings, chained in their order: one read of the tail, one
    insert of all their legs, then one of all the entries."""
    if not postings:
        return []
    key = key_of(connection)
    tail = head(connection)
    entry_id, prev_hash = (tail[0] + 1, tail[1]) if tail else (1, GENESIS_HASH)
    # Never below the keyed part (only a truncated journal would be): a gap says so, where a
    # plain hash would pass.
    entry_id = max(entry_id, key.keyed_from["journal"])
    entries = []
    for offset, posting in enumerate(postings):
        entry = chain(entry_id + offset, ts_us, posting, prev_hash, key.journal_digest)
        entries.append(entry)
        prev_hash = entry.hash
    if errors := validate_kinds(entries):
        raise ValueError(f"refused to post: {errors[0].message}")
    connection.execute(
        journal_legs.insert(),
        [
            {
                "entry_id": entry.id,
                "position": position,
                "account": leg.account,
                "amount_minor": leg.amount_minor,
            }
            for entry in entries
            for position, leg in enumerate(entry.posting.legs)
        ],
    )
    connection.execute(
        journal.insert(),
        [
            {
                "id": entry.id,
                "ts_us": ts_us,
                "kind": entry.posting.kind,
                "tenant_id": entry.posting.tenant_id,
                "currency": entry.posting.currency,
                "actor": entry.posting.actor,
                "reason": entry.posting.reason,
                "ref": entry.posting.ref,
                "prev_hash": entry.prev_hash,
                "hash": entry.hash,
            }
            for entry in entries
        ],
    )
    return entries


def head(connection: sa.Connection) -> tuple[int, str] | None:
    """The last entry's id and hash (None for an empty journal)."""
    row = connection.execute(
        sa.select(journal.c.id, journal.c.hash).order_by(journal.c.id.desc()).limit(1)
    ).first()
    return None if row is None else (row.id, row.hash)


def check(connection: sa.Connection, key: LedgerKey) -> tuple[list[Entry], list[Error]]:
    """Every entry, and every broken invariant: the keyed chain, the legs' storage, the
    anchored heads."""
    entries = load_entries(connection)
    errors = (
        validate(entries, key.journal_digest)
        + _leg_errors(connection)
        + _head_errors(connection, entries)
        + _keyed_errors(entries, key)
    )
    return entries, sorted(errors, key=lambda error: error.entry_id)


def _keyed_errors(entries: list[Entry], key: LedgerKey) -> list[Error]:
    """The journal reached at least the entry before the keyed part when the key was made."""
    keyed_from = key.keyed_from["journal"]
    last = entries[-1].id if entries else 0
    if last >= keyed_from - 1:
        return []
    return [
        Error(
            entry_id=keyed_from - 1,
            code="truncated",
            message=f"the journal had {keyed_from - 1} entries when the ledger key was made, "
            f"it now ends at entry {last} (entries were removed)",
        )
    ]


def _leg_errors(connection: sa.Connection) -> list[Error]:
    """Legs without their entry (they would count in balances) and gaps in leg positions."""
    errors = [
        Error(
            entry_id=row.entry_id,
            code="orphan_leg",
            message=f"a leg of {row.account} ({row.amount_minor}) belongs to no entry",
        )
        for row in connection.execute(
            sa.select(journal_legs.c.entry_id, journal_legs.c.account, journal_legs.c.amount_minor)
            .outerjoin(journal, journal.c.id == journal_legs.c.entry_id)
            .where(journal.c.id.is_(None))
        )
    ]
    query = sa.select(
        journal_legs.c.entry_id,
        sa.func.min(journal_legs.c.position),
        sa.func.max(journal_legs.c.position),
        sa.func.count(),
    ).group_by(journal_legs.c.entry_id)
    errors.extend(
        Error(entry_id=entry_id, code="leg_positions", message="leg positions are not 0, 1, 2…")
        for entry_id, low, high, count in connection.execute(query)
        if (low, high) != (0, count - 1)
    )
    return errors


def _head_errors(connection: sa.Connection, entries: list[Entry]) -> list[Error]:
    """The latest head recorded in the audit log must still be in the journal, unchanged."""
    recorded = None
    for (details,) in connection.execute(
        sa.select(audit_log.c.details).order_by(audit_log.c.id.desc())
    ):
        recorded = json.loads(details).get(HEAD_KEY)
        if recorded is not None:
            break
    if recorded is None:
        return []
    entry_id, entry_hash = recorded
    by_id = {entry.id: entry for entry in entries}
    if entry_id not in by_id:
        last = entries[-1].id if entries else 0
        return [
            Error(
                entry_id=entry_id,
                code="truncated",
                message=f"the audit log saw the journal reach entry {entry_id}, "
                f"it now ends at entry {last} (entries were removed)",
            )
        ]
    if by_id[entry_id].hash != entry_hash:
        return [
            Error(
                entry_id=entry_id,
                code="head_mismatch",
                message="the hash the audit log recorded for this entry differs",
            )
        ]
    return []


def load_entries(connection: sa.Connection) -> list[Entry]:
    """Every entry in id order, legs in their posted order."""
    return _entries(connection, sa.true())


def entry(connection: sa.Connection, entry_id: int) -> Entry | None:
    """One entry with its legs, or None when no entry has that id."""
    found = _entries(connection, journal.c.id == entry_id)
    return found[0] if found else None


def _entries(connection: sa.Connection, where: sa.ColumnElement[bool]) -> list[Entry]:
    legs: dict[int, list[Leg]] = {}
    for row in connection.execute(
        sa.select(journal_legs)
        .join(journal, journal.c.id == journal_legs.c.entry_id)
        .where(where)
        .order_by(journal_legs.c.entry_id, journal_legs.c.position)
    ):
        legs.setdefault(row.entry_id, []).append(
            Leg(account=row.account, amount_minor=row.amount_minor)
        )
    return [
        Entry(
            id=row.id,
            ts_us=row.ts_us,
            posting=Posting(
                kind=row.kind,
                currency=row.currency,
                actor=row.actor,
                reason=row.reason,
                legs=tuple(legs.get(row.id, ())),
                tenant_id=row.tenant_id,
                ref=row.ref,
            ),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
        for row in connection.execute(sa.select(journal).where(where).order_by(journal.c.id))
    ]


def balances(connection: sa.Connection, accounts: Iterable[str]) -> dict[str, int]:
    """Sum of legs per account (0 for accounts without postings), in minor units."""
    wanted = list(accounts)
    result = dict.fromkeys(wanted, 0)
    query = (
        sa.select(journal_legs.c.account, sa.func.sum(journal_legs.c.amount_minor))
        .join(journal, journal.c.id == journal_legs.c.entry_id)
        .where(journal_legs.c.account.in_(wanted))
        .group_by(journal_legs.c.account)
    )
    for account, total in connection.execute(query):
        result[account] = int(total)
    return result


def tenant_entries(
    connection: sa.Connection, account: str, limit: int
) -> list[sa.Row[tuple[int, int, str, str, str, int, str | None]]]:
    """The account's most recent legs with their entries, newest first."""
    query = (
        sa.select(
            journal.c.id,
            journal.c.ts_us,
            journal.c.kind,
            journal.c.actor,
            journal.c.reason,
            journal_legs.c.amount_minor,
            journal.c.ref,
        )
        .join(journal_legs, journal_legs.c.entry_id == journal.c.id)
        .where(journal_legs.c.account == account)
        .order_by(journal.c.id.desc())
        .limit(limit)
    )
    return list(connection.execute(query))


def entry_with_ref(connection: sa.Connection, ref: str) -> int | None:
    """The id of the entry posted under idempotency key ``ref``, if one was."""
    return connection.execute(sa.select(journal.c.id).where(journal.c.ref == ref)).scalar()


def refs_in(connection: sa.Connection, refs: Iterable[str]) -> dict[str, int]:
    """Which of ``refs`` were posted, and as which entry."""
    query = sa.select(journal.c.ref, journal.c.id).where(journal.c.ref.in_(list(refs)))
    return {row.ref: row.id for row in connection.execute(query)}


def refs_with_prefix(
    connection: sa.Connection, kind: str, tenant_id: str, prefix: str
) -> list[str]:
    """The refs of the tenant's entries of ``kind`` that start with ``prefix``."""
    query = sa.select(journal.c.ref).where(
        (journal.c.kind == kind)
        & (journal.c.tenant_id == tenant_id)
        & journal.c.ref.startswith(prefix, autoescape=True)
    )
    return [ref for ref in connection.execute(query).scalars() if ref is not None]


def tenant_legs_by_ref(
    connection: sa.Connection, kind: str, tenant_id: str
) -> list[tuple[str, int]]:
    """(ref, amount) of the tenant account's legs in the tenant's entries of ``kind``."""
    query = (
        sa.select(journal.c.ref, journal_legs.c.amount_minor)
        .join(journal_legs, journal_legs.c.entry_id == journal.c.id)
        .where(
            (journal.c.kind == kind)
            & (journal.c.tenant_id == tenant_id)
            & (journal_legs.c.account == tenant_account(tenant_id))
        )
    )
    return [
        (row.ref, int(row.amount_minor)) for row in connection.execute(query) if row.ref is not None
    ]
