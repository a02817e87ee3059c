"""Night-flow leak detection: worked nights, DST nights and properties over any night."""

from datetime import UTC, date, datetime, time, timedelta
from random import Random
from zoneinfo import ZoneInfo

from hypothesis import example, given, strategies as st
import pytest

from tenant_ledger.billing.night_flow import (
    MAX_GAP_US,
    US_PER_HOUR,
    NightWindow,
    RegisterRead,
    Verdict,
    judge_night,
)
from tenant_ledger.billing.timestamps import to_us

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = NightWindow(start=time(1, 0), end=time(5, 0))
ACROSS_MIDNIGHT = NightWindow(start=time(23, 0), end=time(4, 0))


def hourly_reads(
    start_us: int, flows: list[int], register: int = 1000, step_us: int = US_PER_HOUR
) -> list[RegisterRead]:
    """A read at ``start_us`` and one after each step, the register rising by ``flows``."""
    reads = [RegisterRead(ts_us=start_us, value=register)]
    for step, flow in enumerate(flows, start=1):
        register += flow
        reads.append(RegisterRead(ts_us=start_us + step * step_us, value=register))
    return reads


def test_a_running_toilet_through_the_night_is_continuous() -> None:
    night = date(2026, 3, 10)
    start_us, end_us = NIGHT.bounds_us(night, BERLIN)
    assert start_us == to_us(datetime(2026, 3, 10, 0, 0, tzinfo=UTC))  # 01:00 CET
    judgement = judge_night(hourly_reads(start_us, [12, 9, 10, 11]), NIGHT, night, BERLIN, 8)
    assert judgement.verdict is Verdict.CONTINUOUS
    assert judgement.lowest_per_hour == 9
    assert judgement.volume == 42
    assert judgement.proven_at_us == end_us


def test_a_quiet_hour_interrupts_the_night_a_quiet_quarter_hour_is_judged_with_its_hour() -> None:
    night = date(2026, 3, 10)
    start_us, _ = NIGHT.bounds_us(night, BERLIN)
    flows = [3] * 16  # 12 L/h, read every quarter hour
    flows[9] = 0  # 02:15-02:30: the hour from 02:00 still counts 9 L
    reads = hourly_reads(start_us, flows, step_us=US_PER_HOUR // 4)
    judgement = judge_night(reads, NIGHT, night, BERLIN, 8)
    assert judgement.verdict is Verdict.CONTINUOUS
    assert judgement.lowest_per_hour == 9
    flows[8:12] = [0, 0, 0, 2]  # 02:00-03:00 counts 2 L
    reads = hourly_reads(start_us, flows, step_us=US_PER_HOUR // 4)
    judgement = judge_night(reads, NIGHT, night, BERLIN, 8)
    assert judgement.verdict is Verdict.INTERRUPTED
    assert judgement.lowest_per_hour == 2


def test_a_slow_leak_on_a_one_litre_pulse_counter_is_seen_hour_by_hour() -> None:
    night = date(2026, 3, 10)
    start_us, _ = NIGHT.bounds_us(night, BERLIN)
    # 5 L/h: a pulse every 12 minutes, read every 5 minutes: most readings show no pulse.
    reads = [
        RegisterRead(ts_us=start_us + minute * 60_000_000, value=700 + minute // 12)
        for minute in range(-30, 5 * 60 + 31, 5)
    ]
    judgement = judge_night(reads, NIGHT, night, BERLIN, 4)
    assert judgement.verdict is Verdict.CONTINUOUS
    assert judgement.lowest_per_hour in (4, 5)


def test_no_morning_reading_yet_is_unproven() -> None:
    night = date(2026, 3, 10)
    start_us, _ = NIGHT.bounds_us(night, BERLIN)
    judgement = judge_night(hourly_reads(start_us, [50, 50, 50]), NIGHT, night, BERLIN, 8)
    assert judgement.verdict is Verdict.UNPROVEN


def test_a_reading_gap_over_an_hour_cannot_prove_a_leak() -> None:
    night = date(2026, 3, 10)
    start_us, end_us = NIGHT.bounds_us(night, BERLIN)
    # Once a day: 500 L between two reads, maybe all of it one bath in the evening.
    reads = [RegisterRead(ts_us=start_us - 3 * US_PER_HOUR, value=0)]
    reads.append(RegisterRead(ts_us=end_us + 3 * US_PER_HOUR, value=500))
    assert judge_night(reads, NIGHT, night, BERLIN, 8).verdict is Verdict.UNPROVEN


def test_a_register_reset_inside_the_window_proves_nothing() -> None:
    night = date(2026, 3, 10)
    start_us, _ = NIGHT.bounds_us(night, BERLIN)
    reads = hourly_reads(start_us, [20, 20]) + hourly_reads(start_us + 2 * US_PER_HOUR, [20, 20], 5)
    assert judge_night(reads, NIGHT, night, BERLIN, 8).verdict is Verdict.UNPROVEN


def test_the_window_crossing_midnight_ends_the_next_morning() -> None:
    start_us, end_us = ACROSS_MIDNIGHT.bounds_us(date(2026, 7, 1), BERLIN)
    assert start_us == to_us(datetime(2026, 7, 1, 21, 0, tzinfo=UTC))  # 23:00 CEST
    assert end_us == to_us(datetime(2026, 7, 2, 2, 0, tzinfo=UTC))  # 04:00 CEST


@pytest.mark.parametrize(
    ("night", "hours"),
    [(date(2026, 3, 28), 4), (date(2026, 10, 24), 6)],
    ids=["spring-forward-night", "fall-back-night"],
)
def test_dst_nights_last_as_long_as_the_clocks_say(night: date, hours: int) -> None:
    start_us, end_us = ACROSS_MIDNIGHT.bounds_us(night, BERLIN)
    assert end_us - start_us == hours * US_PER_HOUR
    reads = hourly_reads(start_us, [10] * hours)
    assert judge_night(reads, ACROSS_MIDNIGHT, night, BERLIN, 10).verdict is Verdict.CONTINUOUS
    reads = hourly_reads(start_us, [10] * (hours - 1) + [9])
    assert judge_night(reads, ACROSS_MIDNIGHT, night, BERLIN, 10).verdict is Verdict.INTERRUPTED


def test_a_window_inside_the_skipped_hour_has_no_length_and_proves_nothing() -> None:
    night = date(2026, 3, 28)  # Berlin skips 02:00-03:00 on the morning of 29 March
    for window in (
        NightWindow(start=time(2, 0), end=time(3, 0)),
        NightWindow(start=time(2, 15), end=time(2, 45)),
    ):
        start_us, end_us = window.bounds_us(night + timedelta(days=1), BERLIN)
        assert start_us == end_us
        reads = hourly_reads(start_us - 3 * US_PER_HOUR, [50] * 6)
        judgement = judge_night(reads, window, night + timedelta(days=1), BERLIN, 1)
        assert judgement.verdict is Verdict.UNPROVEN


def test_a_window_is_whole_minutes_and_not_empty() -> None:
    with pytest.raises(ValueError, match="same time"):
        NightWindow(start=time(2, 0), end=time(2, 0))
    with pytest.raises(ValueError, match="whole local minutes"):
        NightWindow(start=time(2, 0, 30), end=time(4, 0))
    with pytest.raises(ValueError, match="positive integer"):
        judge_night([], NIGHT, date(2026, 1, 1), BERLIN, 0)


# -- properties over any night, zone and window --------------------------------------------

ZONES = st.sampled_from(
    [ZoneInfo(n) for n in ("Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC")]
)
NIGHTS = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))
LOCAL_TIMES = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
WINDOWS = (
    st.tuples(LOCAL_TIMES, LOCAL_TIMES)
    .filter(lambda pair: pair[0] != pair[1])
    .map(lambda pair: NightWindow(start=pair[0], end=pair[1]))
)


@st.composite
def night_cases(draw: st.DrawFn) -> tuple[NightWindow, date, ZoneInfo, list[int], int]:
    window, night, zone = draw(WINDOWS), draw(NIGHTS), draw(ZONES)
    start_us, end_us = window.bounds_us(night, zone)
    hours = -(-(end_us - start_us) // US_PER_HOUR)  # whole hours covering the window
    minimum = draw(st.integers(1, 10_000))
    flows = draw(st.lists(st.integers(0, 20_000), min_size=hours, max_size=hours))
    return window, night, zone, flows, minimum


@given(night_cases())
def test_alarm_exactly_when_every_hour_reaches_the_minimum(
    case: tuple[NightWindow, date, ZoneInfo, list[int], int],
) -> None:
    window, night, zone, flows, minimum = case
    start_us, end_us = window.bounds_us(night, zone)
    judgement = judge_night(hourly_reads(start_us, flows), window, night, zone, minimum)
    if all(flow >= minimum for flow in flows):
        assert judgement.verdict is Verdict.CONTINUOUS
        assert judgement.lowest_per_hour == min(flows)
        assert judgement.proven_at_us is not None
        assert judgement.proven_at_us >= end_us
        assert judgement.volume is not None
        assert minimum * (end_us - start_us) // US_PER_HOUR - 1 <= judgement.volume <= sum(flows)
    else:
        assert judgement.verdict is Verdict.INTERRUPTED
        assert judgement.lowest_per_hour == min(flows)


@given(night_cases(), st.randoms(use_true_random=False))
def test_order_and_repeats_of_readings_do_not_matter(
    case: tuple[NightWindow, date, ZoneInfo, list[int], int], shuffler: Random
) -> None:
    window, night, zone, flows, minimum = case
    start_us, _ = window.bounds_us(night, zone)
    reads = hourly_reads(start_us, flows)
    shuffled = reads + reads[::2]
    shuffler.shuffle(shuffled)
    assert judge_night(shuffled, window, night, zone, minimum) == judge_night(
        reads, window, night, zone, minimum
    )


@given(night_cases(), st.integers(1, 4 * 3600))
def test_a_gap_longer_than_an_hour_never_raises_an_alarm(
    case: tuple[NightWindow, date, ZoneInfo, list[int], int], extra_s: int
) -> None:
    window, night, zone, _flows, minimum = case
    start_us, end_us = window.bounds_us(night, zone)
    gap_start = start_us + (end_us - start_us) // 2 - MAX_GAP_US // 2
    gap_end = gap_start + MAX_GAP_US + extra_s * 1_000_000
    rate = minimum * 100  # plenty of flow, only the proof is missing
    reads = [
        RegisterRead(ts_us=ts, value=(ts - start_us + 10 * US_PER_HOUR) * rate // US_PER_HOUR)
        for ts in (
            *range(start_us - 600_000_000, gap_start, 600_000_000),
            gap_start,
            *range(gap_end, end_us + 600_000_001, 600_000_000),
        )
    ]
    assert judge_night(reads, window, night, zone, minimum).verdict is not Verdict.CONTINUOUS


@given(WINDOWS, ZONES, NIGHTS)
@example(NightWindow(start=time(2, 0), end=time(3, 0)), BERLIN, date(2026, 3, 29))
def test_a_window_lasts_less_than_a_day_and_nights_follow_each_other(
    window: NightWindow, zone: ZoneInfo, night: date
) -> None:
    start_us, end_us = window.bounds_us(night, zone)
    next_start, _ = window.bounds_us(night + timedelta(days=1), zone)
    # Empty only when the whole window falls in the hour a spring-forward night skips.
    assert 0 <= end_us - start_us <= 25 * US_PER_HOUR
    assert end_us <= next_start
    assert night in set(window.nights_touching(zone, start_us, start_us))
    assert night in set(window.nights_touching(zone, end_us, end_us))
