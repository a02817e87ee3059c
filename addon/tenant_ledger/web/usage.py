"""A tenant's consumption per hour or day, from stored registers through the billing engine.

The chart uses the same ``consumption`` and ``tenant_intervals`` as rating, so what a tenant
sees per day adds up to what they were billed for.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tenant_ledger.billing import Assignment, Reading, consumption, tenant_intervals
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.web.charts import Bar


class Span(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_DAYS = {Span.WEEK: 7, Span.MONTH: 30}


def buckets(span: Span, now: datetime, zone: ZoneInfo) -> list[tuple[str, str, int, int]]:
    """(label, title, start_us, end_us): 24 hours, or 7 or 30 local days, ending now."""
    if span is Span.DAY:
        end = now.astimezone(zone).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        starts = [end - timedelta(hours=hours) for hours in range(24, 0, -1)]
        return [
            (
                f"{start.astimezone(zone):%H}",
                f"{start.astimezone(zone):%a %H:00}",
                to_us(start),
                to_us(start + timedelta(hours=1)),
            )
            for start in starts
        ]
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=back) for back in range(_DAYS[span] - 1, -1, -1)]
    return [
        (
            f"{day:%a}" if span is Span.WEEK else f"{day.day}",
            f"{day:%a %d %b}",
            to_us(datetime.combine(day, time(), tzinfo=zone)),
            to_us(datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)),
        )
        for day in days
    ]


def usage_bars(
    edges: Sequence[tuple[str, str, int, int]],
    readings: Iterable[Reading],
    assignments: Sequence[Assignment],
    tenant_id: str,
) -> list[Bar]:
    """Usage (base units) of ``tenant_id``'s points while it held them, per bucket: pass the
    readings of one resource's points, so Wh and L never add up."""
    intervals = tenant_intervals(
        consumption(readings),
        assignments,
        tenant_id,
        start=from_us(edges[0][2]),
        end=from_us(edges[-1][3]),
    )
    bars = []
    for label, title, start_us, end_us in edges:
        parts = (interval.clip(start_us, end_us) for interval in intervals)
        used = sum(part.energy_wh for part in parts if part is not None)
        bars.append(Bar(label=label, title=title, usage=used))
    return bars
