"""From cumulative register readings to consumption intervals.

A register only ever counts up, so the energy between two readings is their difference and a
missed reading loses time resolution, never energy. Everything here is a pure function of the
set of readings: duplicates and replays are ignored and arrival order does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import repeat
from operator import attrgetter, lt, sub
from typing import NamedTuple

from tenant_ledger.billing.timestamps import from_us, to_us


def format_kwh(energy_wh: int) -> str:
    """Whole Wh as kWh with three decimals: 12345 -> '12.345'."""
    sign = "-" if energy_wh < 0 else ""
    return f"{sign}{abs(energy_wh) // 1000}.{abs(energy_wh) % 1000:03d}"


def _require_wh(value: int, what: str) -> None:
    if type(value) is not int:
        raise TypeError(f"{what} must be an integer number of Wh, not {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")


@dataclass(frozen=True, kw_only=True, slots=True)
class Reading:
    """A cumulative energy register read at an instant."""

    point_id: str
    ts: datetime
    energy_wh: int
    ts_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_wh(self.energy_wh, "energy_wh")
        object.__setattr__(self, "ts_us", to_us(self.ts))


@dataclass(frozen=True, kw_only=True, slots=True)
class MeterReplacement:
    """A meter swapped at ``ts``: the old one's last register and the new one's first."""

    point_id: str
    ts: datetime
    old_final_wh: int
    new_start_wh: int
    ts_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _require_wh(self.old_final_wh, "old_final_wh")
        _require_wh(self.new_start_wh, "new_start_wh")
        object.__setattr__(self, "ts_us", to_us(self.ts))


class Interval(NamedTuple):
    """Energy consumed on one point between two instants (epoch microseconds).

    Energy inside an interval is assumed to flow evenly in time (a gap is bridged linearly).
    Parts of an interval are taken by *cumulative rounding*: the energy up to instant t is
    ``round_half_up(energy_wh * elapsed / duration)`` and a part is the difference of two such
    values. Parts therefore sum exactly to the whole however the interval is cut, and the same
    cut gives the same parts in every statement that sees it (period edges, move-in/out).

    A named tuple rather than a dataclass: a month of 1-minute readings makes tens of thousands
    of intervals, and a tuple is built (and taken apart by rating) several times faster.
    """

    point_id: str
    start_us: int
    end_us: int
    energy_wh: int

    @property
    def start(self) -> datetime:
        return from_us(self.start_us)

    @property
    def end(self) -> datetime:
        return from_us(self.end_us)

    def energy_until(self, instant_us: int) -> int:
        """Whole Wh consumed from the start up to ``instant_us`` (inside the interval)."""
        duration = self.end_us - self.start_us
        return (2 * self.energy_wh * (instant_us - self.start_us) + duration) // (2 * duration)

    def clip(self, start_us: int, end_us: int) -> Interval | None:
        """The part inside [start_us, end_us), or None when they do not overlap."""
        start, end = max(start_us, self.start_us), min(end_us, self.end_us)
        if start >= end:
            return None
        if start == self.start_us and end == self.end_us:
            return self
        energy = self.energy_until(end) - self.energy_until(start)
        return Interval(point_id=self.point_id, start_us=start, end_us=end, energy_wh=energy)


class EventKind(StrEnum):
    """Things a landlord should know happened to a register."""

    REGISTER_RESET = "register_reset"
    """The register fell: counted as a reset to zero, the interval gets the new value."""
    METER_REPLACED = "meter_replaced"
    CONFLICTING_READINGS = "conflicting_readings"
    """Different values at the same instant: the highest is kept."""
    REPLACEMENT_BELOW_LAST_READING = "replacement_below_last_reading"
    """The old meter's final register is below its last reading: that interval counts 0."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ConsumptionEvent:
    point_id: str
    ts: datetime
    kind: EventKind
    previous_wh: int
    value_wh: int


@dataclass(frozen=True, kw_only=True, slots=True)
class PointConsumption:
    """One point's accepted readings (sorted, de-duplicated), intervals and events."""

    point_id: str
    readings: tuple[Reading, ...]
    intervals: tuple[Interval, ...]
    events: tuple[ConsumptionEvent, ...]

    @property
    def energy_wh(self) -> int:
        return sum(interval.energy_wh for interval in self.intervals)


def consumption(
    readings: Iterable[Reading], replacements: Iterable[MeterReplacement] = ()
) -> dict[str, PointConsumption]:
    """Intervals per point from raw readings, in any order and with any repeats.

    Energy is conserved exactly: each interval holds its register delta, a fall of the register
    holds the new value (reset), and a replacement closes the old meter at its final register
    and continues from the new meter's start register. Readings of a point at or after its
    replacement instant belong to the new meter; one exactly at the instant is the new start.
    """
    by_point = _by_point(readings)
    swaps: dict[str, dict[int, MeterReplacement]] = {}
    for swap in replacements:
        known = swaps.setdefault(swap.point_id, {}).setdefault(swap.ts_us, swap)
        if known != swap:
            raise ValueError(f"two different meter replacements for {swap.point_id} at {swap.ts}")
    result: dict[str, PointConsumption] = {}
    for point_id in sorted(by_point.keys() | swaps.keys()):
        kept, instants, events = _accepted(point_id, by_point.get(point_id, []))
        point_swaps = swaps.get(point_id, {})
        counted = None if point_swaps else _register_deltas(point_id, kept, instants, events)
        if counted is None:
            timeline: list[Reading | MeterReplacement] = [*kept, *point_swaps.values()]
            # At equal instants the replacement goes first: the reading belongs to the new meter.
            timeline.sort(key=lambda item: (item.ts_us, isinstance(item, Reading)))
            counted = _point_consumption(point_id, timeline, events)
        result[point_id] = counted
    return result


_POINT_ID = attrgetter("point_id")
_TS_US = attrgetter("ts_us")
_ENERGY_WH = attrgetter("energy_wh")


def _by_point(readings: Iterable[Reading]) -> dict[str, list[Reading]]:
    """Readings grouped by point, in arrival order."""
    readings = list(readings)
    point_ids = set(map(_POINT_ID, readings))
    if len(point_ids) == 1:  # one meter's history: nothing to sort out
        return {point_ids.pop(): readings}
    grouped: dict[str, list[Reading]] = {point_id: [] for point_id in point_ids}
    for reading in readings:
        grouped[reading.point_id].append(reading)
    return grouped


def _accepted(
    point_id: str, readings: list[Reading]
) -> tuple[list[Reading], list[int], list[ConsumptionEvent]]:
    """One reading per instant (the first of the highest) in time order, their instants, and
    an event per instant with conflicting readings."""
    instants = list(map(_TS_US, readings))
    if all(map(lt, instants, instants[1:])):
        return readings, instants, []  # already in time order, one per instant: the usual case
    by_ts = dict(zip(instants, readings, strict=True))
    events: list[ConsumptionEvent] = []
    if len(by_ts) != len(readings):
        by_ts, events = _resolve_conflicts(point_id, readings)
    instants = sorted(by_ts)
    return list(map(by_ts.__getitem__, instants)), instants, events


def _resolve_conflicts(
    point_id: str, readings: list[Reading]
) -> tuple[dict[int, Reading], list[ConsumptionEvent]]:
    """The first of the highest reading per instant, and an event where readings disagree."""
    by_ts: dict[int, Reading] = {}
    conflicts: dict[int, set[int]] = {}
    for reading in readings:
        kept = by_ts.setdefault(reading.ts_us, reading)
        if kept.energy_wh != reading.energy_wh:
            conflicts.setdefault(reading.ts_us, {kept.energy_wh}).add(reading.energy_wh)
            if reading.energy_wh > kept.energy_wh:
                by_ts[reading.ts_us] = reading
    events = [
        ConsumptionEvent(
            point_id=point_id,
            ts=by_ts[ts_us].ts,
            kind=EventKind.CONFLICTING_READINGS,
            previous_wh=min(values),
            value_wh=max(values),
        )
        for ts_us, values in conflicts.items()
    ]
    return by_ts, events


def counted_up(
    point_id: str, instants_us: Sequence[int], registers: Sequence[int]
) -> tuple[Interval, ...] | None:
    """The intervals between successive readings (instants strictly increasing) of a register
    that only counted up, built in bulk; None if it ever fell (``consumption`` says how that
    counts)."""
    deltas = list(map(sub, registers[1:], registers))
    if deltas and min(deltas) < 0:
        return None
    # tuple.__new__ is what Interval(...) calls, minus a Python frame per interval.
    fields = zip(repeat(point_id), instants_us, instants_us[1:], deltas)
    return tuple(map(tuple.__new__, repeat(Interval), fields))


def _register_deltas(
    point_id: str, kept: list[Reading], instants: list[int], events: list[ConsumptionEvent]
) -> PointConsumption | None:
    """Intervals of a register that only counted up, built in bulk; None if it ever fell."""
    intervals = counted_up(point_id, instants, list(map(_ENERGY_WH, kept)))
    if intervals is None:
        return None  # a reset: _point_consumption records it
    events.sort(key=lambda event: (to_us(event.ts), event.kind))
    return PointConsumption(
        point_id=point_id, readings=tuple(kept), intervals=intervals, events=tuple(events)
    )


def _point_consumption(
    point_id: str, timeline: list[Reading | MeterReplacement], events: list[ConsumptionEvent]
) -> PointConsumption:
    intervals: list[Interval] = []
    kept: list[Reading] = []
    previous_us: int | None = None
    previous_wh = 0
    for item in timeline:
        if isinstance(item, MeterReplacement):
            if previous_us is not None:
                intervals.append(_close_old_meter(item, previous_us, previous_wh, events))
            events.append(
                ConsumptionEvent(
                    point_id=point_id,
                    ts=item.ts,
                    kind=EventKind.METER_REPLACED,
                    previous_wh=item.old_final_wh,
                    value_wh=item.new_start_wh,
                )
            )
            previous_us, previous_wh = item.ts_us, item.new_start_wh
            continue
        if previous_us == item.ts_us:
            continue  # the new meter's start register is authoritative at its instant
        kept.append(item)
        if previous_us is not None:
            delta = item.energy_wh - previous_wh
            if delta < 0:
                delta = item.energy_wh
                events.append(
                    ConsumptionEvent(
                        point_id=point_id,
                        ts=item.ts,
                        kind=EventKind.REGISTER_RESET,
                        previous_wh=previous_wh,
                        value_wh=item.energy_wh,
                    )
                )
            intervals.append(
                Interval(
                    point_id=point_id, start_us=previous_us, end_us=item.ts_us, energy_wh=delta
                )
            )
        previous_us, previous_wh = item.ts_us, item.energy_wh
    events.sort(key=lambda event: (to_us(event.ts), event.kind))
    return PointConsumption(
        point_id=point_id, readings=tuple(kept), intervals=tuple(intervals), events=tuple(events)
    )


def _close_old_meter(
    swap: MeterReplacement, previous_us: int, previous_wh: int, events: list[ConsumptionEvent]
) -> Interval:
    """The old meter's last interval: from its last reading to its final register."""
    delta = swap.old_final_wh - previous_wh
    if delta < 0:
        events.append(
            ConsumptionEvent(
                point_id=swap.point_id,
                ts=swap.ts,
                kind=EventKind.REPLACEMENT_BELOW_LAST_READING,
                previous_wh=previous_wh,
                value_wh=swap.old_final_wh,
            )
        )
        delta = 0
    return Interval(
        point_id=swap.point_id, start_us=previous_us, end_us=swap.ts_us, energy_wh=delta
    )
