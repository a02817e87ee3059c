"""Appending to and reading the hash-chained journal; balances are sums, never stored."""

from collections.abc import Iterable

import sqlalchemy as sa

from tenant_ledger.db.schema import journal, journal_legs
from tenant_ledger.journal import GENESIS_HASH, Entry, Leg, Posting, chain


def append(connection: sa.Connection, posting: Posting, ts_us: int) -> Entry:
    """Chain ``posting`` after the last entry and insert it (inside the caller's transaction).

    The ledger is the journal's only writer and runs every write on one thread, so reading the
    tail and inserting after it cannot interleave with another append.
    """
    tail = connection.execute(
        sa.select(journal.c.id, journal.c.hash).order_by(journal.c.id.desc()).limit(1)
    ).first()
    entry_id, prev_hash = (tail.id + 1, tail.hash) if tail else (1, GENESIS_HASH)
    entry = chain(entry_id, ts_us, posting, prev_hash)
    connection.execute(
        journal.insert().values(
            id=entry.id,
            ts_us=ts_us,
            kind=posting.kind,
            tenant_id=posting.tenant_id,
            currency=posting.currency,
            actor=posting.actor,
            reason=posting.reason,
            ref=posting.ref,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    connection.execute(
        journal_legs.insert(),
        [
            {
                "entry_id": entry.id,
                "position": position,
                "account": leg.account,
                "amount_minor": leg.amount_minor,
            }
            for position, leg in enumerate(posting.legs)
        ],
    )
    return entry


def load_entries(connection: sa.Connection) -> list[Entry]:
    """Every entry in id order, legs in their posted order."""
    legs: dict[int, list[Leg]] = {}
    for row in connection.execute(
        sa.select(journal_legs).order_by(journal_legs.c.entry_id, journal_legs.c.position)
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
        for row in connection.execute(sa.select(journal).order_by(journal.c.id))
    ]


def balances(connection: sa.Connection, accounts: Iterable[str]) -> dict[str, int]:
    """Sum of legs per account (0 for accounts without postings), in minor units."""
    wanted = list(accounts)
    result = dict.fromkeys(wanted, 0)
    query = (
        sa.select(journal_legs.c.account, sa.func.sum(journal_legs.c.amount_minor))
        .where(journal_legs.c.account.in_(wanted))
        .group_by(journal_legs.c.account)
    )
    for account, total in connection.execute(query):
        result[account] = int(total)
    return result


def tenant_entries(
    connection: sa.Connection, account: str, limit: int
) -> list[sa.Row[tuple[int, int, str, str, str, int]]]:
    """The account's most recent legs with their entries, newest first."""
    query = (
        sa.select(
            journal.c.id,
            journal.c.ts_us,
            journal.c.kind,
            journal.c.actor,
            journal.c.reason,
            journal_legs.c.amount_minor,
        )
        .join(journal_legs, journal_legs.c.entry_id == journal.c.id)
        .where(journal_legs.c.account == account)
        .order_by(journal.c.id.desc())
        .limit(limit)
    )
    return list(connection.execute(query))
