"""Store-and-forward backlog: de-duplication of replayed messages, no HA.

The backlog's hourly energy totals are ``hourly.py``'s, shared with the ledger's backfill.
"""

from collections import OrderedDict


class SeenMessages:
    """Bounded memory of the ``(ts, seq)`` keys of one device's recent messages.

    Backlogs overlap what was already received live; remembering the last few thousand keys
    (hours at typical intervals) keeps memory flat. The ledger de-duplicates on (point, ts)
    as well, so a key forgotten here costs a redundant publish, never a double count.
    """

    def __init__(self, capacity: int = 8192) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[tuple[int, int | None], None] = OrderedDict()

    def add(self, ts: int, seq: int | None) -> bool:
        """Remember a key; False if it was already known."""
        key = (ts, seq)
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True
