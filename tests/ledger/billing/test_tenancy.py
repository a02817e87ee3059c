"""Tenancy: a move inside a reading interval splits it by time, and nothing is lost."""

from datetime import timedelta

from hypothesis import given, settings, strategies as st

from tenant_ledger.billing import Assignment, consumption, occupancy, tenant_intervals
from tenant_ledger.billing.timestamps import to_us

from .helpers import at, reading

START = at("2026-01-01T00:00:00+01:00")
END = at("2026-02-01T00:00:00+01:00")


def test_move_out_inside_an_interval_splits_it_by_time():
    # 1,000 Wh between 00:00 and 10:00; the tenant leaves at 03:00: 300 Wh are theirs.
    points = consumption(
        [
            reading("r1", "2026-01-05T00:00:00+01:00", 0),
            reading("r1", "2026-01-05T10:00:00+01:00", 1000),
        ]
    )
    leaving = Assignment(
        point_id="r1", tenant_id="a", start=START, end=at("2026-01-05T03:00:00+01:00")
    )
    [part] = tenant_intervals(points, [leaving], "a", start=START, end=END)
    assert (part.start, part.end, part.energy_wh) == (
        at("2026-01-05T00:00:00+01:00"),
        at("2026-01-05T03:00:00+01:00"),
        300,
    )


def test_occupancy_joins_overlapping_assignments():
    assignments = [
        Assignment(
            point_id="r1",
            tenant_id="a",
            start=at("2026-01-03T00:00:00+01:00"),
            end=at("2026-01-10T00:00:00+01:00"),
        ),
        Assignment(point_id="r2", tenant_id="a", start=at("2026-01-08T00:00:00+01:00")),
        Assignment(point_id="r3", tenant_id="b", start=START),
    ]
    assert occupancy(assignments, "a", start=START, end=END) == (
        (at("2026-01-03T00:00:00+01:00"), END),
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=5_000), min_size=2, max_size=40),
    st.lists(st.integers(min_value=1, max_value=40 * 3600), min_size=2, max_size=40),
    st.integers(min_value=1, max_value=40 * 24 * 3600 - 1),
)
def test_tenants_before_and_after_a_move_share_every_wh(increments, gaps, move_seconds):
    ts, value, readings = START - timedelta(days=5), 0, []
    for increment, gap in zip(increments, gaps, strict=False):
        ts, value = ts + timedelta(seconds=gap), value + increment
        readings.append(reading("r1", ts.isoformat(), value))
    moved = START - timedelta(days=5) + timedelta(seconds=move_seconds)
    assignments = [
        Assignment(point_id="r1", tenant_id="a", start=START - timedelta(days=9), end=moved),
        Assignment(point_id="r1", tenant_id="b", start=moved),
    ]
    points = consumption(readings)
    whole = sum(
        part.energy_wh
        for interval in points["r1"].intervals
        if (part := interval.clip(to_us(START), to_us(END)))
    )
    split = sum(
        part.energy_wh
        for tenant in ("a", "b")
        for part in tenant_intervals(points, assignments, tenant, start=START, end=END)
    )
    assert split == whole
