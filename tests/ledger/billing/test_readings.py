"""Readings to consumption: duplicates, order, resets, replacements, gaps; energy conserved."""

from datetime import timedelta
from itertools import pairwise
import random

from hypothesis import given, settings, strategies as st
import pytest

from tenant_ledger.billing import (
    EventKind,
    Interval,
    MeterReplacement,
    Reading,
    consumption,
    format_kwh,
)
from tenant_ledger.billing.timestamps import to_us

from .helpers import at, reading


def deltas(point_consumption):
    return [interval.energy_wh for interval in point_consumption.intervals]


def test_register_deltas_become_intervals():
    room = consumption(
        [
            reading("r1", "2026-01-01T00:00:00+01:00", 1000),
            reading("r1", "2026-01-01T00:15:00+01:00", 1250),
            reading("r1", "2026-01-01T00:30:00+01:00", 1300),
        ]
    )["r1"]
    assert deltas(room) == [250, 50]
    assert room.intervals[0].start == at("2026-01-01T00:00:00+01:00")
    assert room.intervals[1].end == at("2026-01-01T00:30:00+01:00")
    assert room.energy_wh == 300


def test_duplicates_and_out_of_order_readings_change_nothing():
    ordered = [
        reading("r1", "2026-01-01T00:00:00Z", 10),
        reading("r1", "2026-01-01T01:00:00Z", 40),
        reading("r1", "2026-01-01T02:00:00Z", 100),
    ]
    # A backlog replay arrives late, overlapping, with the same instant written in another zone.
    replayed = [ordered[2], reading("r1", "2026-01-01T02:00:00+01:00", 40), ordered[0], *ordered]
    assert consumption(replayed) == consumption(ordered)
    assert deltas(consumption(replayed)["r1"]) == [30, 60]


def test_register_reset():
    # 1000 -> 1500 -> 200 (fell: reset to zero, then counted 200) -> 700: 500 + 200 + 500.
    room = consumption(
        [
            reading("r1", "2026-01-01T00:00:00Z", 1000),
            reading("r1", "2026-01-01T01:00:00Z", 1500),
            reading("r1", "2026-01-01T02:00:00Z", 200),
            reading("r1", "2026-01-01T03:00:00Z", 700),
        ]
    )["r1"]
    assert deltas(room) == [500, 200, 500]
    assert room.energy_wh == 1200
    [event] = room.events
    assert event.kind is EventKind.REGISTER_RESET
    assert (event.ts, event.previous_wh, event.value_wh) == (at("2026-01-01T02:00:00Z"), 1500, 200)


def test_meter_replacement():
    # Old meter: 10,000 at 00:00, 10,400 at 06:00, removed at 08:00 showing 10,500.
    # New meter starts at 0 at 08:00 and reads 300 at 12:00: 400 + 100 + 300 = 800 Wh.
    room = consumption(
        [
            reading("r1", "2026-01-01T00:00:00Z", 10_000),
            reading("r1", "2026-01-01T06:00:00Z", 10_400),
            reading("r1", "2026-01-01T08:00:00Z", 0),  # the new meter's first read, same instant
            reading("r1", "2026-01-01T12:00:00Z", 300),
        ],
        [
            MeterReplacement(
                point_id="r1", ts=at("2026-01-01T08:00:00Z"), old_final_wh=10_500, new_start_wh=0
            )
        ],
    )["r1"]
    assert deltas(room) == [400, 100, 300]
    assert [(i.start, i.end) for i in room.intervals][1] == (
        at("2026-01-01T06:00:00Z"),
        at("2026-01-01T08:00:00Z"),
    )
    assert [event.kind for event in room.events] == [EventKind.METER_REPLACED]
    assert room.energy_wh == 800


def test_replacement_with_final_register_below_last_reading_counts_nothing():
    room = consumption(
        [reading("r1", "2026-01-01T00:00:00Z", 500), reading("r1", "2026-01-01T02:00:00Z", 50)],
        [
            MeterReplacement(
                point_id="r1", ts=at("2026-01-01T01:00:00Z"), old_final_wh=400, new_start_wh=0
            )
        ],
    )["r1"]
    assert deltas(room) == [0, 50]
    assert EventKind.REPLACEMENT_BELOW_LAST_READING in {event.kind for event in room.events}


def test_conflicting_readings_keep_the_highest_and_say_so():
    room = consumption(
        [
            reading("r1", "2026-01-01T00:00:00Z", 0),
            reading("r1", "2026-01-01T01:00:00Z", 90),
            reading("r1", "2026-01-01T01:00:00Z", 100),
            reading("r1", "2026-01-01T02:00:00Z", 150),
        ]
    )["r1"]
    assert deltas(room) == [100, 50]
    [event] = room.events
    assert (event.kind, event.previous_wh, event.value_wh) == (
        EventKind.CONFLICTING_READINGS,
        90,
        100,
    )


def test_gap_is_bridged_linearly_in_time():
    # Two days without readings, 4,800 Wh: the second day gets half of it.
    interval = consumption(
        [reading("r1", "2026-01-01T00:00:00Z", 0), reading("r1", "2026-01-03T00:00:00Z", 4800)]
    )["r1"].intervals[0]
    second_day = interval.clip(to_us(at("2026-01-02T00:00:00Z")), to_us(at("2026-01-03T00:00:00Z")))
    assert second_day is not None
    assert second_day.energy_wh == 2400


def test_splitting_in_thirds_rounds_cumulatively():
    # 7 Wh over three equal parts: cumulative 2.33 -> 2, 4.67 -> 5, 7 -> parts 2, 3, 2.
    interval = Interval(point_id="r1", start_us=0, end_us=3, energy_wh=7)
    parts = [interval.clip(t, t + 1) for t in range(3)]
    assert [part.energy_wh for part in parts if part] == [2, 3, 2]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"ts": at("2026-01-01T00:00:00Z").replace(tzinfo=None), "energy_wh": 1}, ValueError),
        ({"ts": at("2026-01-01T00:00:00Z"), "energy_wh": 1.0}, TypeError),
        ({"ts": at("2026-01-01T00:00:00Z"), "energy_wh": -1}, ValueError),
    ],
)
def test_bad_readings_are_refused(kwargs, error):
    with pytest.raises(error):
        Reading(point_id="r1", **kwargs)


def test_format_kwh():
    assert [format_kwh(wh) for wh in (0, 5, 12_345, 1_000_000)] == [
        "0.000",
        "0.005",
        "12.345",
        "1000.000",
    ]


START = at("2026-01-01T00:00:00Z")

# One register's life: each step is (seconds since the last reading, increment or reset value).
steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=7200),
        st.one_of(
            st.tuples(st.just("add"), st.integers(min_value=0, max_value=5000)),
            st.tuples(st.just("reset"), st.integers(min_value=0, max_value=5000)),
        ),
    ),
    min_size=1,
    max_size=80,
)


def register_life(first_wh, life):
    """Readings of a simulated register and the energy it really counted."""
    ts, value, counted = START, first_wh, 0
    readings = [Reading(point_id="p", ts=ts, energy_wh=value)]
    for seconds, (kind, amount) in life:
        ts += timedelta(seconds=seconds)
        if kind == "reset" and amount < value:
            value, counted = amount, counted + amount
        else:
            value, counted = value + amount, counted + amount
        readings.append(Reading(point_id="p", ts=ts, energy_wh=value))
    return readings, counted


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), steps)
def test_energy_is_conserved(first_wh, life):
    readings, counted = register_life(first_wh, life)
    assert consumption(readings)["p"].energy_wh == counted


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), steps, st.randoms(use_true_random=False))
def test_replaying_or_reordering_readings_changes_nothing(first_wh, life, rng: random.Random):
    readings, _ = register_life(first_wh, life)
    replayed = readings + rng.sample(readings, k=len(readings) // 2)
    rng.shuffle(replayed)
    assert consumption(replayed) == consumption(readings)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=1, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**12), max_size=20),
)
def test_any_cuts_of_an_interval_add_up_to_it(energy_wh, duration, cuts):
    interval = Interval(point_id="p", start_us=0, end_us=duration, energy_wh=energy_wh)
    bounds = sorted({0, duration, *(cut % duration for cut in cuts)})
    parts = [interval.clip(a, b) for a, b in pairwise(bounds)]
    assert sum(part.energy_wh for part in parts if part) == energy_wh
