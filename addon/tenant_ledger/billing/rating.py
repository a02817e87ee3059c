"""Rating: consumption intervals and a tariff schedule in, exact energy and standing lines out.

Nothing is rounded here. Each line keeps integer Wh (or exact days) and its unit price, so a
statement can show how every amount was computed and round each line exactly once.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from itertools import compress, pairwise
from operator import attrgetter, lt, or_
from typing import NamedTuple, assert_never

from tenant_ledger.billing.quota import INCLUDED_BAND, OVERAGE_BAND, Quota
from tenant_ledger.billing.readings import Interval
from tenant_ledger.billing.tariffs import (
    FlatEnergy,
    TariffSchedule,
    Tier,
    TieredEnergy,
    TouEnergy,
)
from tenant_ledger.billing.timestamps import local_days, merge_windows, to_us
from tenant_ledger.billing.tou import band_segments

FLAT_BAND = "energy"
"""The band of a flat tariff's energy (statement lines and tariff pages name bands)."""
STANDING_LABEL = "standing"


def tier_band(number: int) -> str:
    """The band of a tiered tariff's ``number``-th tier (from 1)."""
    return f"tier{number}"


_WH_PER_KWH = 1000

type Window = tuple[datetime, datetime]
"""[start, end) of an occupancy; the end is exclusive."""


@dataclass(frozen=True, kw_only=True)
class EnergyLine:
    """Energy of one band at one unit price (per kWh)."""

    band: str
    unit_price: Decimal
    tax_rate: Decimal
    energy_wh: int

    @property
    def label(self) -> str:
        return self.band

    @property
    def exact_amount(self) -> Fraction:
        return Fraction(self.unit_price) * self.energy_wh / _WH_PER_KWH


@dataclass(frozen=True, kw_only=True)
class StandingLine:
    """Standing charge for ``days`` local days (partial days pro rata) at ``daily_charge``."""

    daily_charge: Decimal
    tax_rate: Decimal
    days: Fraction

    @property
    def label(self) -> str:
        return STANDING_LABEL

    @property
    def exact_amount(self) -> Fraction:
        return Fraction(self.daily_charge) * self.days


@dataclass(frozen=True, kw_only=True)
class Rating:
    currency: str
    start: datetime
    end: datetime
    energy_wh: int
    energy_lines: tuple[EnergyLine, ...]
    standing_lines: tuple[StandingLine, ...]


class _Segment(NamedTuple):
    """A stretch of time with one tariff version and, unless tiered, one band and line.

    A named tuple: rating makes one per band change (a hundred a month) for every tenant.
    """

    start_us: int
    end_us: int
    tax_rate: Decimal
    line: int | None
    tiers: tuple[Tier, ...]


class _Meter:
    """Accumulates Wh per (band, unit price, tax rate) line, applying quota and tiers in order."""

    def __init__(self, quota: Quota | None) -> None:
        self.keys: list[tuple[str, Decimal, Decimal]] = []
        self.totals: list[int] = []
        self._index: dict[tuple[str, Decimal, Decimal], int] = {}
        self._quota = quota
        self._included_left = 0 if quota is None else quota.included_wh
        self._tiered_wh = 0

    def line(self, band: str, unit_price: Decimal, tax_rate: Decimal) -> int:
        key = (band, unit_price, tax_rate)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.keys)
            self.keys.append(key)
            self.totals.append(0)
        return index

    def lines(self) -> tuple[EnergyLine, ...]:
        """Lines with energy: the included allowance first, then in the order bands appeared."""
        lines = [
            EnergyLine(band=band, unit_price=price, tax_rate=tax, energy_wh=energy)
            for (band, price, tax), energy in zip(self.keys, self.totals, strict=True)
            if energy
        ]
        return tuple(sorted(lines, key=lambda line: line.band != INCLUDED_BAND))

    def add(self, energy_wh: int, segment: _Segment) -> None:
        if self._quota is None and segment.line is not None:
            self.totals[segment.line] += energy_wh  # the hot path: flat or TOU, no quota
            return
        if self._included_left:
            included = min(energy_wh, self._included_left)
            self._included_left -= included
            energy_wh -= included
            self.totals[self.line(INCLUDED_BAND, Decimal(0), segment.tax_rate)] += included
        if not energy_wh:
            return
        if self._quota is not None and self._quota.overage_rate is not None:
            line = self.line(OVERAGE_BAND, self._quota.overage_rate, segment.tax_rate)
            self.totals[line] += energy_wh
        elif segment.line is not None:
            self.totals[segment.line] += energy_wh
        else:
            self._add_tiered(energy_wh, segment)

    def _add_tiered(self, energy_wh: int, segment: _Segment) -> None:
        for number, tier in enumerate(segment.tiers, 1):
            room = energy_wh if tier.up_to_wh is None else tier.up_to_wh - self._tiered_wh
            take = min(energy_wh, max(0, room))
            if take:
                self.totals[self.line(tier_band(number), tier.rate, segment.tax_rate)] += take
                self._tiered_wh += take
                energy_wh -= take
            if not energy_wh:
                return


def _segments(
    schedule: TariffSchedule, meter: _Meter, start_us: int, end_us: int
) -> list[_Segment]:
    segments: list[_Segment] = []
    for begin, finish, tariff in schedule.ranges(start_us, end_us):
        energy, tax = tariff.energy, tariff.tax_rate
        match energy:
            case TouEnergy():
                segments.extend(
                    _Segment(
                        start_us=seg_start,
                        end_us=seg_end,
                        tax_rate=tax,
                        line=meter.line(band, energy.band_rates[band], tax),
                        tiers=(),
                    )
                    for seg_start, seg_end, band in band_segments(
                        energy, tariff.timezone, begin, finish
                    )
                )
            case FlatEnergy():
                line = meter.line(FLAT_BAND, energy.rate, tax)
                segments.append(
                    _Segment(start_us=begin, end_us=finish, tax_rate=tax, line=line, tiers=())
                )
            case TieredEnergy():
                segments.append(
                    _Segment(
                        start_us=begin, end_us=finish, tax_rate=tax, line=None, tiers=energy.tiers
                    )
                )
            case _:
                assert_never(energy)
    return segments


_time_order = attrgetter("start_us", "end_us", "point_id")
_START_US = attrgetter("start_us")
_END_US = attrgetter("end_us")
_ENERGY_WH = attrgetter("energy_wh")


def rate(
    intervals: Iterable[Interval],
    schedule: TariffSchedule,
    *,
    start: datetime,
    end: datetime,
    occupied: Sequence[Window] | None = None,
    quota: Quota | None = None,
) -> Rating:
    """Rate the energy of ``intervals`` inside [start, end) and the standing charge.

    Intervals reaching over ``start``/``end`` count with their time-proportional part. Energy is
    priced in time order (so tiers and allowances fill up in the order energy was used) by the
    tariff version and band in force; an interval crossing a boundary is split in proportion to
    time. The standing charge covers ``occupied`` (default: all of [start, end)). Nothing is
    charged before the tariff's first version (a tariff created mid-period).
    """
    if to_us(end) <= to_us(start):
        raise ValueError(f"rating period must end after it starts: {start} .. {end}")
    start_us, end_us = schedule.in_force_from_us(to_us(start)), to_us(end)
    meter = _Meter(quota)
    segments = _segments(schedule, meter, start_us, end_us) if start_us < end_us else []
    order_free = quota is None and all(segment.line is not None for segment in segments)
    if segments and order_free:
        _add_by_segment(list(intervals), segments, meter, start_us, end_us)
    elif segments:  # none when no tariff is in force during the period: nothing to charge
        for interval in sorted(intervals, key=_time_order):
            _add_interval(interval, segments, meter, start_us, end_us)
    return Rating(
        currency=schedule.currency,
        start=start,
        end=end,
        energy_wh=sum(meter.totals),
        energy_lines=meter.lines(),
        standing_lines=_standing(
            schedule, start_us, end_us, [(start, end)] if occupied is None else occupied
        ),
    )


def _add_interval(
    interval: Interval, segments: list[_Segment], meter: _Meter, start_us: int, end_us: int
) -> None:
    """Count ``interval``'s part inside [start_us, end_us), split where segments change."""
    piece = interval.clip(start_us, end_us)
    if piece is None or not piece.energy_wh:
        return
    index = bisect_right(segments, piece.start_us, key=_START_US) - 1
    counted = 0
    while counted < piece.energy_wh:
        segment = segments[index]
        upto = piece.energy_until(min(segment.end_us, piece.end_us))
        meter.add(upto - counted, segment)
        counted = upto
        index += 1


def _add_by_segment(
    intervals: list[Interval], segments: list[_Segment], meter: _Meter, start_us: int, end_us: int
) -> None:
    """``_add_interval`` for every interval when no quota or tier depends on their order.

    Then energy only has to reach its segment's line, in any order. Within a run of intervals
    whose starts and ends both never go back (a register's consecutive intervals), the ones
    lying inside one segment are a slice found by bisection and summed at C speed; only the
    few that cross a segment or period boundary are split one by one.
    """
    starts = list(map(_START_US, intervals))
    ends = list(map(_END_US, intervals))
    if not all(map(lt, starts, ends)):  # empty or backwards intervals hold no time: skipped
        kept = list(map(lt, starts, ends))
        intervals = list(compress(intervals, kept))
        starts, ends = list(compress(starts, kept)), list(compress(ends, kept))
    energies = list(map(_ENERGY_WH, intervals))
    if starts[1:] == ends[:-1]:  # each starts where the one before ended: a single run
        run_bounds = [0, len(starts)]
    else:
        went_back = map(or_, map(lt, starts[1:], starts), map(lt, ends[1:], ends))
        run_bounds = [0, *compress(range(1, len(starts)), went_back), len(starts)]
    segment_starts = [segment.start_us for segment in segments]
    for run_start, run_end in pairwise(run_bounds):
        # The run's intervals overlapping the period: the rest would be clipped to nothing.
        cursor = bisect_right(ends, start_us, run_start, run_end)
        stop = bisect_left(starts, end_us, cursor, run_end)
        if cursor >= stop:
            continue
        first_segment = max(0, bisect_right(segment_starts, starts[cursor]) - 1)
        for segment in segments[first_segment : bisect_left(segment_starts, ends[stop - 1])]:
            inside = bisect_left(starts, segment.start_us, cursor, stop)
            inside_end = bisect_right(ends, segment.end_us, inside, stop)
            # Those before ``inside`` started in an earlier segment and end in a later one.
            for crossing in intervals[cursor:inside]:
                _add_interval(crossing, segments, meter, start_us, end_us)
            if inside < inside_end:
                meter.add(sum(energies[inside:inside_end]), segment)
            cursor = inside_end
        for crossing in intervals[cursor:stop]:  # reaching past the last segment or the period
            _add_interval(crossing, segments, meter, start_us, end_us)


def _standing(
    schedule: TariffSchedule, start_us: int, end_us: int, occupied: Sequence[Window]
) -> tuple[StandingLine, ...]:
    """Local days covered by ``occupied``, pro rata for partial days, per daily charge."""
    days: dict[tuple[Decimal, Decimal], Fraction] = {}
    whole_days: dict[tuple[Decimal, Decimal], int] = {}  # apart: adding 1s is cheaper
    for begin, finish in merge_windows(
        (max(start_us, to_us(window_start)), min(end_us, to_us(window_end)))
        for window_start, window_end in occupied
    ):
        for version_start, version_end, tariff in schedule.ranges(begin, finish):
            if not tariff.standing_charge_per_day:
                continue
            key = (tariff.standing_charge_per_day, tariff.tax_rate)
            days.setdefault(key, Fraction(0))  # lines in the order their charges appear
            for _, day_start, day_end in local_days(tariff.timezone, version_start, version_end):
                overlap = min(day_end, version_end) - max(day_start, version_start)
                if overlap == day_end - day_start:
                    whole_days[key] = whole_days.get(key, 0) + 1
                else:
                    days[key] += Fraction(overlap, day_end - day_start)
    for key, count in whole_days.items():
        days[key] += count
    return tuple(
        StandingLine(daily_charge=charge, tax_rate=tax, days=count)
        for (charge, tax), count in days.items()
        if count
    )
