"""The ledger's one clock: the wall clock, or a clock started at a chosen instant.

Everything that asks "what time is it" in the ledger (status, statements, standing charges,
plausibility, audit times) calls the service's clock, never ``time`` or ``datetime.now``.
``serve --now`` starts the clock at a given instant and lets it run at real speed, so that
simulations and tests of any month behave the same on any day they run.
"""

from collections.abc import Callable
from datetime import datetime
import time

type Clock = Callable[[], int]
"""Microseconds since the epoch, UTC."""


def wall_clock_us() -> int:
    return time.time_ns() // 1000


def clock_from(start: datetime) -> Clock:
    """A clock that reads ``start`` now and then advances with the monotonic clock."""
    if start.tzinfo is None:
        raise ValueError("the start instant needs a UTC offset")
    start_us = int(start.timestamp()) * 1_000_000 + start.microsecond
    started_ns = time.monotonic_ns()

    def now_us() -> int:
        return start_us + (time.monotonic_ns() - started_ns) // 1000

    return now_us


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a UTC offset (``2026-10-31T23:30:00+01:00``, ``…Z``)."""
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 date and time, e.g. 2026-10-31T23:30:00+01:00"
        ) from None
    if instant.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset, e.g. 2026-10-31T23:30:00+01:00")
    return instant
