"""Who pays for which metering point when: assignments with effective dates.

A move-in or move-out inside a reading interval splits that interval in proportion to time,
with the same cumulative rounding as every other cut, so the outgoing and incoming tenant's
parts add up to the interval exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from tenant_ledger.billing.readings import Interval, PointConsumption
from tenant_ledger.billing.timestamps import from_us, merge_windows, require_aware, to_us

_OPEN_END = 2**62  # microseconds: far beyond any real move-out


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """``tenant_id`` pays for ``point_id`` from ``start`` until ``end`` (exclusive; None: open)."""

    point_id: str
    tenant_id: str
    start: datetime
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.end_us <= self.start_us:
            raise ValueError(f"assignment of {self.point_id} to {self.tenant_id} ends before start")

    @property
    def start_us(self) -> int:
        return to_us(require_aware(self.start, "assignment start"))

    @property
    def end_us(self) -> int:
        return _OPEN_END if self.end is None else to_us(require_aware(self.end, "assignment end"))


def validate_assignments(assignments: Iterable[Assignment]) -> list[str]:
    """Problems that would bill a point twice: the same point assigned twice at the same time."""
    by_point: dict[str, list[Assignment]] = {}
    for item in assignments:
        by_point.setdefault(item.point_id, []).append(item)
    return [
        f"{first.point_id} is assigned to {first.tenant_id} and {second.tenant_id} "
        f"at the same time from {max(first.start, second.start).isoformat()}"
        for point_id in sorted(by_point)
        for first, second in combinations(sorted(by_point[point_id], key=_start), 2)
        if first.start_us < second.end_us and second.start_us < first.end_us
    ]


def _start(assignment: Assignment) -> int:
    return assignment.start_us


def tenant_windows(
    assignments: Iterable[Assignment], tenant_id: str, *, start: datetime, end: datetime
) -> dict[str, tuple[tuple[datetime, datetime], ...]]:
    """Per point, when inside [start, end) the tenant held it (overlaps joined)."""
    start_us, end_us = to_us(start), to_us(end)
    by_point: dict[str, list[tuple[int, int]]] = {}
    for item in assignments:
        if item.tenant_id == tenant_id:
            window = (max(start_us, item.start_us), min(end_us, item.end_us))
            by_point.setdefault(item.point_id, []).append(window)
    return {
        point_id: tuple((from_us(begin), from_us(finish)) for begin, finish in merged)
        for point_id in sorted(by_point)
        if (merged := merge_windows(by_point[point_id]))
    }


def tenant_intervals(
    consumptions: Mapping[str, PointConsumption],
    assignments: Iterable[Assignment],
    tenant_id: str,
    *,
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """Parts of the tenant's points' intervals inside its assignments and [start, end)."""
    parts: list[Interval] = []
    windows = tenant_windows(assignments, tenant_id, start=start, end=end)
    for point_id, point_windows in windows.items():
        point = consumptions.get(point_id)
        if point is None:
            continue
        for begin, finish in point_windows:
            parts.extend(
                part
                for interval in point.intervals
                if (part := interval.clip(to_us(begin), to_us(finish))) is not None
            )
    return parts


def occupancy(
    assignments: Iterable[Assignment], tenant_id: str, *, start: datetime, end: datetime
) -> tuple[tuple[datetime, datetime], ...]:
    """When inside [start, end) the tenant held at least one point (overlaps joined)."""
    windows = tenant_windows(assignments, tenant_id, start=start, end=end).values()
    return tuple(
        (from_us(begin), from_us(finish))
        for begin, finish in merge_windows(
            (to_us(begin), to_us(finish)) for point in windows for begin, finish in point
        )
    )
