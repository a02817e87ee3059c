"""The head of each hashed series (journal, readings, statements): what the ledger publishes.

Removing the newest rows, or rewriting the newest row with a forged key, leaves nothing to see
inside the database. The head is therefore published retained on ``{prefix}/ledger/chain``
after every write (docs/ledger-contract.md), Home Assistant remembers the newest it saw, and
both the ledger and Home Assistant raise the alarm when a series goes back or a row it already
saw changes its hash.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tenant_ledger.db import journal_store, sealed
from tenant_ledger.ledger_key import SERIES, LedgerKey


@dataclass(frozen=True, slots=True)
class SeriesHead:
    id: int
    """The newest row's id (0: none yet)."""
    hash: str | None


type ChainHead = Mapping[str, SeriesHead]
"""By series: ``journal``, ``readings``, ``statements``."""


def read(connection: sa.Connection) -> dict[str, SeriesHead]:
    journal = journal_store.head(connection)
    heads = {"journal": SeriesHead(*journal) if journal else SeriesHead(0, None)}
    for series in sealed.ALL:
        newest = sealed.head(connection, series)
        heads[series.name] = SeriesHead(*newest) if newest else SeriesHead(0, None)
    return heads


def document(head: ChainHead, key: LedgerKey) -> dict[str, Any]:
    """The published form; ``key`` names the key (its fingerprint), which must not change."""
    return {name: {"id": item.id, "hash": item.hash} for name, item in head.items()} | {
        "key": key.fingerprint()
    }


def _shown(head: SeriesHead | None) -> str:
    return "nothing" if head is None else f"{head.id} ({(head.hash or '-')[:12]})"


def differences(before: ChainHead, after: ChainHead) -> list[str]:
    """Each series whose head is not where it was."""
    return [
        f"the {name} head changed from {_shown(before[name])} to {_shown(after.get(name))} "
        "between the ledger's own transactions (someone else wrote to the database)"
        for name in sorted(before)
        if after.get(name) != before[name]
    ]


def parse(document: Any) -> tuple[dict[str, SeriesHead], str | None]:
    """A published head (``document``'s form) and its key fingerprint; ValueError if not one."""
    if not isinstance(document, dict):
        raise ValueError("a chain head is a JSON object")
    heads = {}
    for name in SERIES:
        item = document.get(name)
        if not isinstance(item, dict) or type(item.get("id")) is not int:
            raise ValueError(f"{name!r} must be an object with an integer id")
        value = item.get("hash")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}.hash must be text")
        heads[name] = SeriesHead(item["id"], value)
    key = document.get("key")
    return heads, key if isinstance(key, str) else None


def rewound(seen: ChainHead, now: ChainHead) -> list[str]:
    """How ``now`` contradicts ``seen``: a series that went back, or a row whose hash changed."""
    problems = []
    for name, before in seen.items():
        after = now.get(name, SeriesHead(0, None))
        if after.id < before.id:
            problems.append(f"the {name} went back from {before.id} to {after.id}")
        elif after.id == before.id and after.hash != before.hash:
            problems.append(f"{name} {before.id} changed its hash")
    return problems
