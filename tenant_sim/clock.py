"""The simulation's one clock: the wall clock, or one started at a chosen instant.

The demo, the simulated hardware and the ledger child process all read it, so a simulation
(or a test) started "at" 2026-10-20 12:00 behaves the same on whatever day it runs. A started
clock runs at real speed; the ledger process gets the same instant as ``serve --now``.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
import time


@dataclass(frozen=True)
class SimClock:
    start: datetime | None = None
    """The instant the clock read when it was made; None: the wall clock."""
    _made: float = field(default_factory=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError("the start instant needs a UTC offset")

    @classmethod
    def at(cls, text: str | None) -> "SimClock":
        """From an ISO 8601 instant with a UTC offset (None: the wall clock)."""
        return cls(None if text is None else datetime.fromisoformat(text))

    @property
    def is_wall_clock(self) -> bool:
        return self.start is None

    def time(self) -> float:
        """Seconds since the epoch, like ``time.time()``."""
        if self.start is None:
            return time.time()
        return self.start.timestamp() + (time.monotonic() - self._made)

    def now(self) -> datetime:
        """The current instant, in UTC."""
        return datetime.fromtimestamp(self.time(), UTC)
