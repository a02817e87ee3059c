"""Instants and local days.

Public functions take and return tz-aware ``datetime``s; naive ones are refused because a
reading without an offset is ambiguous twice a year. Internally instants are integer
microseconds since the Unix epoch, which compare, subtract and divide exactly and fast.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
US_PER_SECOND = 1_000_000
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2199, 12, 31)
"""The calendar a person may name (a move-in, an exemption's end, a page's dates): far enough
from year 1 and 9999 that every date the ledger computes from it (periods, grace, offsets) is
a date Python can hold."""


def supported_day(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def require_aware(value: datetime, what: str = "timestamp") -> datetime:
    """``value`` unchanged, or ValueError when it has no UTC offset."""
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, not {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    return (require_aware(value) - _EPOCH) // _MICROSECOND


def from_us(micros: int) -> datetime:
    """The UTC datetime ``micros`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def from_epoch(seconds: int | Decimal) -> datetime:
    """UTC datetime from epoch seconds as devices send them (``ts`` in the MQTT payload)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | Decimal):
        raise TypeError(f"epoch seconds must be an int or Decimal, not {seconds!r}")
    return from_us(int(seconds * US_PER_SECOND))


def to_epoch(value: datetime) -> int:
    """Whole epoch seconds (rounded down) of an aware datetime."""
    return to_us(value) // US_PER_SECOND


def wall_to_us(day: date, minute: int, zone: ZoneInfo) -> int:
    """The instant the clocks in ``zone`` show ``minute`` minutes after midnight of ``day``.

    ``minute`` may be 1440 (midnight ending the day). A wall time that happens twice (autumn)
    means its first occurrence; one that never happens (spring) means the instant the clocks
    jump over it, so a band boundary inside the gap starts when the gap ends.
    """
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = naive.replace(tzinfo=zone)
    instant = to_us(first)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=1 lands before the jump and fold=0 after it: bisect for the jump.
    before, after = to_us(naive.replace(tzinfo=zone, fold=1)), instant
    offset_after = from_us(after).astimezone(zone).utcoffset()
    while after - before > US_PER_SECOND:
        middle = (before + after) // 2 // US_PER_SECOND * US_PER_SECOND
        if from_us(middle).astimezone(zone).utcoffset() == offset_after:
            after = middle
        else:
            before = middle
    return after


def local_date(micros: int, zone: ZoneInfo) -> date:
    """The calendar date in ``zone`` at instant ``micros``."""
    return from_us(micros).astimezone(zone).date()


@lru_cache(maxsize=64)  # a few zones x periods in use; a month is 31 small tuples
def local_days(zone: ZoneInfo, start_us: int, end_us: int) -> tuple[tuple[date, int, int], ...]:
    """(date, start, end) of each local day in ``zone`` overlapping [start_us, end_us).

    Start and end are the day's own midnights, so DST days are 23 or 25 hours long. Cached:
    every tenant of a statement run asks for the same month's days.
    """
    days = []
    day = local_date(start_us, zone)
    day_start = wall_to_us(day, 0, zone)
    while day_start < end_us:
        day_end = wall_to_us(day, 1440, zone)
        days.append((day, day_start, day_end))
        day += timedelta(days=1)
        day_start = day_end
    return tuple(days)


def merge_windows(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, end) windows sorted, empty ones dropped and overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for begin, finish in sorted(window for window in windows if window[0] < window[1]):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(finish, merged[-1][1]))
        else:
            merged.append((begin, finish))
    return merged
