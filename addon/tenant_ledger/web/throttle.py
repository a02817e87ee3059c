"""Failed sign-ins counted per key (a link, a client address) over a sliding window.

In memory, per process: a restart forgets the counts, which costs an attacker nothing they
could not get by waiting out the window, and keeps the database free of a row per wrong PIN.
"""

from collections import deque
from dataclasses import dataclass, field


@dataclass(kw_only=True)
class FailureThrottle:
    limit: int
    """Failures within ``window_us`` after which the key is locked."""
    window_us: int
    max_keys: int = 10_000
    """Keys remembered at most; the stalest go first (a flood of addresses cannot fill memory)."""
    _failures: dict[str, deque[int]] = field(default_factory=dict)

    def _recent(self, key: str, now_us: int) -> deque[int]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now_us - self.window_us:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def locked_until(self, key: str, now_us: int) -> int | None:
        """When the key may try again, or None when it may now."""
        times = self._recent(key, now_us)
        if len(times) < self.limit:
            return None
        return times[-self.limit] + self.window_us

    def fail(self, key: str, now_us: int) -> None:
        times = self._recent(key, now_us)
        if not times:
            if len(self._failures) >= self.max_keys:
                del self._failures[next(iter(self._failures))]
            self._failures[key] = times
        times.append(now_us)
        while len(times) > self.limit:
            times.popleft()

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)
