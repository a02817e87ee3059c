"""Leak detection: did a register keep counting through the whole night window?

A leak (a running toilet, a dripping tap, a burst pipe) shows as flow that never stops, also at
night when nobody draws water. A point is judged per *night*: the local date its window starts
on, the window given in local wall time and allowed to cross midnight (23:00-05:00 ends the
next morning). Wall times are turned into instants with ``wall_to_us``, so a window on a DST
night is as long as the clocks say (one hour shorter or longer), never shifted.

How readings are judged (explainable, and never an alarm without proof):

- The window must be *covered*: a reading at or before its start and one at or after its end.
  Until the morning's reading arrives the night is ``UNPROVEN`` (judged again later).
- Between two consecutive readings the flow is taken as even, so each interval that touches the
  window is judged by its average rate: ``delta * 1 h >= minimum * duration`` (integers, exact).
- One interval below the minimum proves the flow stopped: ``INTERRUPTED``.
- An interval longer than ``MAX_GAP_US`` (one hour) cannot prove that the flow was continuous
  (the volume may have been one draw in the evening): ``UNPROVEN``, never an alarm. So does a
  register that fell (a reset or a replaced meter). A point read once a day therefore never
  raises a night alarm; pulse counters and meters that report every few minutes do.
- Otherwise every part of the window ran at or above the minimum: ``CONTINUOUS``.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
import itertools
from zoneinfo import ZoneInfo

from tenant_ledger.billing.readings import Interval
from tenant_ledger.billing.timestamps import US_PER_SECOND, local_date, wall_to_us

US_PER_HOUR = 3600 * US_PER_SECOND
MAX_GAP_US = US_PER_HOUR
"""The longest interval between two readings that can still prove continuous flow."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NightWindow:
    """Local wall times a watch looks at; ``end`` at or before ``start`` means the next day."""

    start: time
    end: time

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value.second or value.microsecond or value.tzinfo is not None:
                raise ValueError(f"a night window is given in whole local minutes, not {value}")
        if self.start == self.end:
            raise ValueError("a night window must not start and end at the same time")

    def bounds_us(self, night: date, zone: ZoneInfo) -> tuple[int, int]:
        """The window of ``night`` (the date it starts on) as [start, end) instants."""
        end_day = night if self.end > self.start else night + timedelta(days=1)
        return (
            wall_to_us(night, self.start.hour * 60 + self.start.minute, zone),
            wall_to_us(end_day, self.end.hour * 60 + self.end.minute, zone),
        )

    def nights_touching(self, zone: ZoneInfo, first_us: int, last_us: int) -> Iterator[date]:
        """The nights a reading in [first_us, last_us] can help judge (their covering
        readings lie up to ``MAX_GAP_US`` outside the window), oldest first."""
        night = local_date(first_us - MAX_GAP_US, zone) - timedelta(days=1)
        while night <= local_date(last_us + MAX_GAP_US, zone):
            start_us, end_us = self.bounds_us(night, zone)
            if end_us + MAX_GAP_US >= first_us and start_us - MAX_GAP_US <= last_us:
                yield night
            night += timedelta(days=1)


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisterRead:
    """A cumulative register (integer base units: L, Wh) at an instant."""

    ts_us: int
    value: int


class Verdict(StrEnum):
    CONTINUOUS = "continuous"
    """Every part of the window ran at or above the minimum: a leak alarm."""
    INTERRUPTED = "interrupted"
    """Some interval touching the window ran below the minimum."""
    UNPROVEN = "unproven"
    """Readings do not cover the window closely enough (yet) to say."""


@dataclass(frozen=True, kw_only=True, slots=True)
class NightJudgement:
    night: date
    verdict: Verdict
    start_us: int
    end_us: int
    lowest_per_hour: int | None = None
    """The lowest average rate of an interval touching the window, in base units per hour
    (rounded down); None when no interval could be judged."""
    volume: int | None = None
    """Base units counted inside the window (continuous nights only)."""
    proven_at_us: int | None = None
    """The reading that completed the proof (the first at or after the window's end)."""


def judge_night(
    reads: Iterable[RegisterRead],
    window: NightWindow,
    night: date,
    zone: ZoneInfo,
    minimum_per_hour: int,
) -> NightJudgement:
    """Whether the register counted at least ``minimum_per_hour`` through ``night``'s window."""
    if type(minimum_per_hour) is not int or minimum_per_hour < 1:
        raise ValueError(f"the minimum flow must be a positive integer, not {minimum_per_hour!r}")
    start_us, end_us = window.bounds_us(night, zone)
    by_ts: dict[int, int] = {}
    for read in reads:
        by_ts[read.ts_us] = max(read.value, by_ts.get(read.ts_us, read.value))
    before = [ts for ts in by_ts if ts <= start_us]
    after = [ts for ts in by_ts if ts >= end_us]
    unproven = NightJudgement(
        night=night, verdict=Verdict.UNPROVEN, start_us=start_us, end_us=end_us
    )
    if not before or not after:
        return unproven
    first, last = max(before), min(after)
    timeline = sorted(ts for ts in by_ts if first <= ts <= last)
    intervals = [
        Interval(point_id="", start_us=a, end_us=b, energy_wh=by_ts[b] - by_ts[a])
        for a, b in itertools.pairwise(timeline)
    ]
    judged = [i for i in intervals if i.energy_wh >= 0]
    lowest = min(
        (i.energy_wh * US_PER_HOUR // (i.end_us - i.start_us) for i in judged), default=None
    )
    if any(i.energy_wh * US_PER_HOUR < minimum_per_hour * (i.end_us - i.start_us) for i in judged):
        return NightJudgement(
            night=night,
            verdict=Verdict.INTERRUPTED,
            start_us=start_us,
            end_us=end_us,
            lowest_per_hour=lowest,
        )
    if len(judged) < len(intervals) or any(i.end_us - i.start_us > MAX_GAP_US for i in intervals):
        return unproven
    volume = 0
    for interval in intervals:
        part = interval.clip(start_us, end_us)
        volume += 0 if part is None else part.energy_wh
    return NightJudgement(
        night=night,
        verdict=Verdict.CONTINUOUS,
        start_us=start_us,
        end_us=end_us,
        lowest_per_hour=lowest,
        volume=volume,
        proven_at_us=last,
    )
