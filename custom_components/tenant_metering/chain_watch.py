"""The ledger's chain head, watched from outside its database. Pure: no Home Assistant.

The ledger hashes its journal entries, readings and statements with a key its database never
holds, and publishes the head of each series (newest id and its hash) retained on
``{prefix}/ledger/chain`` (docs/ledger-contract.md, "Chain head"). Rows removed from the end,
or rewritten, leave the database consistent with itself; only someone who saw an earlier head
can tell. Home Assistant is that someone: it remembers the newest head (across restarts), and
a series that went back, an id whose hash changed, or a different key is a ``Rewind``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

SERIES: Final = ("journal", "readings", "statements")


@dataclass(frozen=True, kw_only=True)
class SeriesHead:
    id: int
    hash: str | None

    def __str__(self) -> str:
        return f"{self.id} ({(self.hash or '-')[:12]})"


@dataclass(frozen=True, kw_only=True)
class ChainHead:
    series: Mapping[str, SeriesHead]
    key: str | None
    """The fingerprint of the ledger's key."""

    def as_dict(self) -> dict[str, Any]:
        """The published form (also what is stored between restarts)."""
        heads = {name: {"id": head.id, "hash": head.hash} for name, head in self.series.items()}
        return heads | {"key": self.key}


@dataclass(frozen=True, kw_only=True)
class Rewind:
    """One way the new head contradicts the one seen before."""

    series: str
    """``journal``, ``readings``, ``statements`` or ``key``."""
    seen: str
    now: str

    def __str__(self) -> str:
        return f"{self.series}: {self.seen} → {self.now}"


def parse_chain_head(data: Any) -> ChainHead:
    """Parse a published head; raises ValueError on anything malformed."""
    if not isinstance(data, dict):
        raise ValueError("the chain head must be an object")
    series = {}
    for name in SERIES:
        item = data.get(name)
        if not isinstance(item, dict):
            raise ValueError(f"{name!r} must be an object")
        identifier, value = item.get("id"), item.get("hash")
        if type(identifier) is not int or identifier < 0:
            raise ValueError(f"{name}.id must be a whole number")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}.hash must be text")
        series[name] = SeriesHead(id=identifier, hash=value)
    key = data.get("key")
    if key is not None and not isinstance(key, str):
        raise ValueError("'key' must be text")
    return ChainHead(series=series, key=key)


def rewinds(seen: ChainHead | None, now: ChainHead) -> list[Rewind]:
    """How ``now`` contradicts ``seen`` (nothing when nothing was seen yet)."""
    if seen is None:
        return []
    found = []
    for name, before in seen.series.items():
        after = now.series.get(name)
        if after is None:
            continue
        if after.id < before.id or (after.id == before.id and after.hash != before.hash):
            found.append(Rewind(series=name, seen=str(before), now=str(after)))
    if seen.key is not None and now.key != seen.key:
        found.append(Rewind(series="key", seen=seen.key, now=str(now.key)))
    return found
