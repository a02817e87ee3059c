"""Rating throughput: readings rated per second under a TOU tariff with holidays.

Run from the repository root: ``PYTHONPATH=addon python bench/bench_rating.py``.
Scenario 1 rates one tenant-month of 1-minute readings; scenario 2 a monthly run for many
tenants at 15-minute readings, all through the public API (consumption -> rate -> price).
Reading objects are built outside the timed section; their construction is timed separately.
"""

import argparse
from datetime import UTC, datetime, timedelta
import random
import time
from zoneinfo import ZoneInfo

from tenant_ledger.billing import (
    Reading,
    TariffSchedule,
    consumption,
    parse_tariff,
    price,
    rate,
)

BERLIN = ZoneInfo("Europe/Berlin")
# 30 days over the spring DST change and Easter (Good Friday 3 April, Easter Monday 6 April).
START = datetime(2026, 3, 15, tzinfo=BERLIN)
END = START + timedelta(days=30)
TARIFF = TariffSchedule.single(
    parse_tariff(
        {
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "energy": {
                "type": "tou",
                "bands": {"peak": "0.35", "shoulder": "0.25", "offpeak": "0.15"},
                "schedule": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "17:00",
                     "band": "shoulder"},
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "17:00", "to": "21:00",
                     "band": "peak"},
                    {"days": ["sat"], "from": "09:00", "to": "13:00", "band": "shoulder"},
                ],
                "default_band": "offpeak",
                "holidays": {"country": "DE", "treat_as": "sun"},
            },
            "standing_charge_per_day": "0.45",
            "tax_rate": "0.19",
        }
    )
)  # fmt: skip


def tuples(point_id, step, rng):
    """(point_id, ts, Wh) every ``step`` over the month, with jitter and realistic increments."""
    first = START.astimezone(UTC)  # step in real time: wall-clock arithmetic would skip DST
    count = (END - START) // step
    wh_per_step = 40 * step // timedelta(minutes=1)  # up to 2.4 kW, 1.2 kW on average
    energy, rows = rng.randrange(10**6), []
    for index in range(count + 1):
        jitter = timedelta(seconds=rng.randrange(5))
        rows.append((point_id, first + index * step + jitter, energy))
        energy += rng.randrange(wh_per_step)
    return rows


def build(rows):
    return [Reading(point_id=p, ts=ts, energy_wh=wh) for p, ts, wh in rows]


def rate_tenant(readings):
    points = consumption(readings)
    intervals = [interval for point in points.values() for interval in point.intervals]
    rating = rate(intervals, TARIFF, start=START, end=END)
    return price([*rating.energy_lines, *rating.standing_lines], "EUR")


def timed(function, *args):
    began = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--tenant-step-minutes", type=int, default=15)
    args = parser.parse_args()
    rng = random.Random(42)

    rows = tuples("room-101", timedelta(minutes=1), rng)
    readings, build_seconds = timed(build, rows)
    charges = rate_tenant(readings)  # also warms the holiday and zone caches
    seconds = min(timed(rate_tenant, readings)[1] for _ in range(5))
    results = [
        ("Reading() construction, 1-min month", len(readings), build_seconds),
        ("1 tenant x 30 d x 1-min (best of 5)", len(readings), seconds),
    ]

    step = timedelta(minutes=args.tenant_step_minutes)
    count, seconds = 0, 0.0
    for number in range(args.tenants):  # one tenant in memory at a time
        readings = build(tuples(f"room-{number}", step, rng))
        count += len(readings)
        seconds += timed(rate_tenant, readings)[1]
    results.append(
        (f"{args.tenants} tenants x 30 d x {args.tenant_step_minutes}-min", count, seconds)
    )

    print(f"TOU (3 bands, DE holidays, DST) {START:%Y-%m-%d} .. {END:%Y-%m-%d}; one core")
    print(f"check: 1-min tenant total {charges.total} EUR")
    print(f"{'scenario':<40} {'readings':>10} {'seconds':>9} {'readings/s':>12}")
    for name, readings_count, elapsed in results:
        print(
            f"{name:<40} {readings_count:>10,} {elapsed:>9.3f} {readings_count / elapsed:>12,.0f}"
        )


if __name__ == "__main__":
    main()
