"""Leak detection: did a register keep counting through the whole night window?

A leak (a running toilet, a dripping tap, a burst pipe) shows as flow that never stops, also at
night when nobody draws water. A point is judged per *night*: the local date its window starts
on, the window given in local wall time and allowed to cross midnight (23:00-05:00 ends the
next morning). Wall times are turned into instants with ``wall_to_us``, so a window on a DST
night is as long as the clocks say (one hour shorter or longer), never shifted.

How readings are judged (explainable, and never an alarm without proof):

- The window must be *covered*: a reading at or before its start and one at or after its end.
  Until the morning's reading arrives the night is ``UNPROVEN`` (judged again later).
- Readings more than ``MAX_GAP_US`` (one hour) apart around or inside the window cannot prove
  that the flow was continuous (the volume may have been one draw in the evening): the night
  is ``UNPROVEN``, never an alarm. So is a night whose register fell (a reset or a replaced
  meter). A point read once a day therefore never raises a night alarm; pulse counters and
  meters that report every few minutes do.
- The window is cut into hours from its start (the last one may be shorter). Each hour's volume
  is the register at its end minus the register at its start, both read as if the flow were even
  between the readings around them (exact fractions, never float). Judging whole hours, not
  each reading interval, lets a slow leak on a one-litre pulse counter (a pulse every 12
  minutes at 5 L/h, read every 5 minutes) count as the steady flow it is.
- An hour below ``minimum_per_hour`` (pro rata for a shorter last hour) proves the flow
  stopped: ``INTERRUPTED``. Otherwise every hour ran at or above it: ``CONTINUOUS``.
"""

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum
from fractions import Fraction
import itertools
import math
from zoneinfo import ZoneInfo

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
    """The lowest hour of the window, in base units per hour (rounded down); None when the
    night could not be judged."""
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
    unproven = NightJudgement(
        night=night, verdict=Verdict.UNPROVEN, start_us=start_us, end_us=end_us
    )
    if start_us >= end_us:
        # A window inside the hour the clocks skip (02:00-03:00 on a spring-forward night)
        # has no length that night: there is nothing to judge.
        return unproven
    before = [ts for ts in by_ts if ts <= start_us]
    after = [ts for ts in by_ts if ts >= end_us]
    if not before or not after:
        return unproven
    timeline = sorted(ts for ts in by_ts if max(before) <= ts <= min(after))
    registers = [by_ts[ts] for ts in timeline]
    for (a, b), (value_a, value_b) in zip(
        itertools.pairwise(timeline), itertools.pairwise(registers), strict=True
    ):
        if b - a > MAX_GAP_US or value_b < value_a:
            return unproven

    def register_at(instant_us: int) -> Fraction:
        """The register at an instant, flow taken as even between the readings around it."""
        index = max(bisect.bisect_right(timeline, instant_us) - 1, 0)
        if index == len(timeline) - 1:
            return Fraction(registers[index])
        a, b = timeline[index], timeline[index + 1]
        rise = registers[index + 1] - registers[index]
        return registers[index] + Fraction(rise * (instant_us - a), b - a)

    rates = [
        (register_at(min(begin + US_PER_HOUR, end_us)) - register_at(begin))
        * US_PER_HOUR
        / (min(begin + US_PER_HOUR, end_us) - begin)
        for begin in range(start_us, end_us, US_PER_HOUR)
    ]
    lowest = math.floor(min(rates))
    if lowest < minimum_per_hour:
        return NightJudgement(
            night=night,
            verdict=Verdict.INTERRUPTED,
            start_us=start_us,
            end_us=end_us,
            lowest_per_hour=lowest,
        )
    return NightJudgement(
        night=night,
        verdict=Verdict.CONTINUOUS,
        start_us=start_us,
        end_us=end_us,
        lowest_per_hour=lowest,
        volume=math.floor(register_at(end_us) - register_at(start_us)),
        proven_at_us=timeline[-1],
    )
