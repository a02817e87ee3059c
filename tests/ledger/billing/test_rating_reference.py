"""The fast paths of ``consumption`` and ``rate`` against plain, obviously right references.

``consumption`` builds a register's intervals in bulk and ``rate`` sums whole runs of intervals
per tariff segment; both must give exactly what the one-by-one definitions give, for any
readings and any intervals (overlapping, out of order, empty, crossing the period's edges).
"""

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
import random

from hypothesis import given, settings, strategies as st

from tenant_ledger.billing import (
    FlatEnergy,
    Interval,
    Reading,
    TariffSchedule,
    TariffVersion,
    TouEnergy,
    consumption,
    rate,
)
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.billing.tou import band_segments

from .helpers import BERLIN, at, tariff

EVERY_WEEKDAY = ["mon", "tue", "wed", "thu", "fri"]
TOU = {
    "type": "tou",
    "bands": {"peak": "0.35", "shoulder": "0.25", "offpeak": "0.15"},
    "schedule": [
        {"days": EVERY_WEEKDAY, "from": "07:00", "to": "17:00", "band": "shoulder"},
        {"days": EVERY_WEEKDAY, "from": "17:00", "to": "21:00", "band": "peak"},
        {"days": ["sat"], "from": "09:00", "to": "13:00", "band": "shoulder"},
    ],
    "default_band": "offpeak",
    "holidays": {"country": "DE", "treat_as": "sun"},
}
# Around the spring DST change (29 March 2026) and Good Friday (3 April 2026).
FIRST_US = to_us(at("2026-03-26T00:00:00+01:00"))
LAST_US = to_us(at("2026-04-05T00:00:00+02:00"))
PRICE_CHANGE = at("2026-03-31T13:17:00+02:00")
SCHEDULES = [
    TariffSchedule.single(tariff(TOU, standing_charge_per_day="0.45")),
    TariffSchedule.of(
        [
            TariffVersion(effective_from=at("2026-01-01T00:00:00+01:00"), tariff=tariff(TOU)),
            TariffVersion(
                effective_from=PRICE_CHANGE, tariff=tariff({"type": "flat", "rate": "0.31"})
            ),
        ]
    ),
]

QUARTER_US = 15 * 60 * 10**6
# Any microsecond, or one on or next to a quarter hour, where band boundaries lie.
instants = st.one_of(
    st.integers(min_value=FIRST_US - 86_400_000_000, max_value=LAST_US + 86_400_000_000),
    st.builds(
        lambda quarter, nudge: FIRST_US + quarter * QUARTER_US + nudge,
        st.integers(min_value=-96, max_value=(LAST_US - FIRST_US) // QUARTER_US + 96),
        st.sampled_from([-1, 0, 0, 1]),
    ),
)
durations = st.one_of(
    st.integers(min_value=1, max_value=4 * 3600 * 10**6),
    st.integers(min_value=1, max_value=5),
    st.builds(
        lambda quarters, nudge: quarters * QUARTER_US + nudge,
        st.integers(min_value=1, max_value=16),
        st.sampled_from([-1, 0, 0, 1]),
    ),
)
# Anything: long, short, empty or backwards, overlapping the registers' intervals or not.
stray_intervals = st.builds(
    lambda point_id, start_us, length_us, energy_wh: Interval(
        point_id, start_us, start_us + length_us, energy_wh
    ),
    point_id=st.sampled_from(["point-0", "point-1", "stray"]),
    start_us=instants,
    length_us=st.one_of(
        st.integers(min_value=-2 * QUARTER_US, max_value=2 * QUARTER_US),
        st.integers(min_value=-3, max_value=3),
        st.builds(
            lambda quarters, nudge: quarters * QUARTER_US + nudge,
            st.integers(min_value=-8, max_value=8),
            st.sampled_from([-1, 0, 1]),
        ),
        st.integers(min_value=-(LAST_US - FIRST_US), max_value=LAST_US - FIRST_US),
    ),
    energy_wh=st.integers(min_value=0, max_value=10**9),
)
register_steps = st.lists(
    st.tuples(durations, st.one_of(st.integers(0, 50_000), st.integers(0, 10**10))),
    max_size=120,
)


def register(point_id: str, first_us: int, steps: list[tuple[int, int]]) -> list[Interval]:
    """A register's consecutive intervals, as ``consumption`` makes them."""
    intervals, start_us = [], first_us
    for duration_us, energy_wh in steps:
        intervals.append(Interval(point_id, start_us, start_us + duration_us, energy_wh))
        start_us += duration_us
    return intervals


def reference_rating(
    intervals: list[Interval], schedule: TariffSchedule, start_us: int, end_us: int
) -> Counter[tuple[str, Decimal]]:
    """Wh per (band, unit price): each interval clipped to the period, then cut at every band
    and version boundary, each cut taken by the interval's cumulative rounding."""
    start_us = schedule.in_force_from_us(start_us)
    segments = []
    for begin, finish, version in schedule.ranges(start_us, end_us):
        energy = version.energy
        if isinstance(energy, TouEnergy):
            segments += [
                (seg_start, seg_end, band, energy.band_rates[band])
                for seg_start, seg_end, band in band_segments(energy, BERLIN, begin, finish)
            ]
        else:
            assert isinstance(energy, FlatEnergy)
            segments.append((begin, finish, "energy", energy.rate))
    totals: Counter[tuple[str, Decimal]] = Counter()
    for interval in intervals:
        piece = interval.clip(start_us, end_us)
        if piece is None:
            continue
        for seg_start, seg_end, band, unit_price in segments:
            low, high = max(seg_start, piece.start_us), min(seg_end, piece.end_us)
            if low < high:
                totals[band, unit_price] += piece.energy_until(high) - piece.energy_until(low)
    return +totals  # bands without energy have no line


@settings(max_examples=200, deadline=None)
@given(
    schedule=st.sampled_from(SCHEDULES),
    period=st.tuples(instants, st.integers(min_value=1, max_value=6 * 86_400_000_000)),
    registers=st.lists(st.tuples(instants, register_steps), max_size=3),
    strays=st.lists(stray_intervals, max_size=8),
    order=st.randoms(use_true_random=False),
    shuffled=st.booleans(),
)
def test_rating_by_segment_runs_equals_cutting_each_interval(
    schedule, period, registers, strays, order: random.Random, shuffled
):
    intervals = [
        interval
        for number, (first_us, steps) in enumerate(registers)
        for interval in register(f"point-{number}", first_us, steps)
    ]
    intervals += strays
    if shuffled:
        order.shuffle(intervals)
    start_us, end_us = period[0], period[0] + period[1]
    rating = rate(intervals, schedule, start=from_us(start_us), end=from_us(end_us))
    by_band = {(line.band, line.unit_price): line.energy_wh for line in rating.energy_lines}
    assert by_band == reference_rating(intervals, schedule, start_us, end_us)
    assert rating.energy_wh == sum(by_band.values())


def reference_consumption(readings: list[Reading]) -> list[Interval]:
    """One register without replacements: the highest value per instant, then the deltas in
    time order, a fall counting as a reset to zero."""
    highest: dict[int, int] = {}
    for reading in readings:
        highest[reading.ts_us] = max(highest.get(reading.ts_us, 0), reading.energy_wh)
    timeline = sorted(highest.items())
    return [
        Interval("p", start_us, end_us, after - before if after >= before else after)
        for (start_us, before), (end_us, after) in pairwise(timeline)
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(min_value=0, max_value=50), st.integers(0, 10**6)), max_size=60),
    st.randoms(use_true_random=False),
)
def test_bulk_intervals_equal_one_by_one_deltas(values, order: random.Random):
    start = at("2026-03-29T00:00:00+01:00")
    readings = [
        Reading(point_id="p", ts=start + timedelta(minutes=minute), energy_wh=energy_wh)
        for minute, energy_wh in values
    ]
    order.shuffle(readings)
    counted = consumption(readings)
    intervals = list(counted["p"].intervals) if readings else []
    assert intervals == reference_consumption(readings)
    assert all(type(interval) is Interval for interval in intervals)


def test_a_microsecond_past_a_band_boundary_counts_in_the_next_band():
    # Registers read on the hour, one read a microsecond late: that interval crosses 07:00 and
    # 1 us of its 10^12 Wh belongs to the shoulder band, which a per-band sum must not miss.
    seven = to_us(at("2026-03-31T07:00:00+02:00"))
    hour_us = 3600 * 10**6
    intervals = [
        Interval("p", seven - 2 * hour_us, seven - hour_us, 10),
        Interval("p", seven - hour_us, seven + 1, 10**12),
        Interval("p", seven + 1, seven + hour_us, 10),
    ]
    start, end = seven - 2 * hour_us, seven + hour_us
    rating = rate(intervals, SCHEDULES[0], start=from_us(start), end=from_us(end))
    by_band = {(line.band, line.unit_price): line.energy_wh for line in rating.energy_lines}
    assert by_band == reference_rating(intervals, SCHEDULES[0], start, end)
    assert by_band[("shoulder", Decimal("0.25"))] == 10 + 278  # 10^12 Wh * 1 us / (1 h + 1 us)
