"""Peer column for rating: HA's own utility_meter and a template cost sensor, same readings.

Runs a real Home Assistant core (HA's test harness, no recorder, no frontend) with what an HA
user would build to bill a tenant without us: a ``utility_meter`` on the room's energy sensor
with one tariff per TOU band and a monthly cycle, and a ``template`` sensor computing the energy
cost (bands times prices, plus tax) from the three tariff sensors. The readings are
bench_rating.py's 1-minute tenant-month (same seed, same 3-band TOU tariff, DE holidays,
spring DST), written as the source sensor's state changes. The tariff ``select`` is switched
when the band in force changes, as a time-triggered automation would.

What it measures, honestly:

* readings/s through the peer — wall time from the first to the last state write until HA has
  processed everything (``async_block_till_done`` every 100 readings): utility_meter's Decimal
  delta and tariff sensor write, the template's re-render and write, and the tariff
  switches of the month (the automation's work, done here by service calls).
* our rating of the same readings in the same process (consumption -> rate -> price, best of 5),
  so the two figures share the machine's load.
* exactness — the peer's energy cost against ours. utility_meter sums kWh exactly (Decimal
  from the state text), but gives the whole delta between two readings to the tariff in force
  when the later one arrives (no split at band boundaries), and the template computes money in
  binary floating point. It has no standing charge pro rata
  per local day, no holiday calendar of its own (the automation must know them), no
  re-rating of past readings and no statement; neither column includes storing readings.

Usage: .venv/bin/python bench/bench_peer.py [--readings 43201] [--json]
"""

import argparse
import asyncio
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
import json
from pathlib import Path
import random
import sys
import time
from unittest.mock import AsyncMock, patch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "addon")]

from homeassistant.const import __version__ as ha_version  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from homeassistant.setup import async_setup_component  # noqa: E402
from pytest_homeassistant_custom_component.common import async_test_home_assistant  # noqa: E402

from bench.bench_rating import END, START, TARIFF, rate_tenant, tuples  # noqa: E402
from tenant_ledger.billing import (  # noqa: E402
    Reading,
    TouEnergy,
    consumption,
    format_kwh,
    price,
    rate,
)
from tenant_ledger.billing.timestamps import to_us  # noqa: E402
from tenant_ledger.billing.tou import band_segments  # noqa: E402

METER = "room_101"
SOURCE = "sensor.room_101_energy"
COST = "sensor.room_101_energy_cost"
SOURCE_ATTRIBUTES = {
    "unit_of_measurement": "kWh",
    "device_class": "energy",
    "state_class": "total_increasing",
}
BATCH = 100
TARIFF_VERSION = TARIFF.versions[0].tariff
assert isinstance(TARIFF_VERSION.energy, TouEnergy)
ENERGY = TARIFF_VERSION.energy
BANDS = list(ENERGY.band_rates)


def cost_template() -> str:
    """What a user writes: each tariff sensor times its price, plus tax, rounded to cents."""
    terms = " + ".join(
        f"states('sensor.{METER}_{band}') | float(0) * {rate}"
        for band, rate in ENERGY.band_rates.items()
    )
    return f"{{{{ (({terms}) * (1 + {TARIFF_VERSION.tax_rate})) | round(2) }}}}"


type Row = tuple[str, datetime, int]
"""(point, instant, register Wh): bench_rating's readings before they become Readings."""


@dataclass(frozen=True)
class Outcome:
    seconds: float
    kwh: dict[str, Decimal]
    cost: str
    loop_cpu: float = 0.0
    switches: int = 0


def band_of(segments: Sequence[tuple[int, int, str]]) -> Callable[[int], str]:
    """The band in force at an instant: what the tariff-switching automation knows."""
    starts = [start for start, _, _ in segments]
    return lambda ts_us: segments[bisect_right(starts, ts_us) - 1][2]


async def feed_peer(rows: list[Row]) -> Outcome:
    band_at = band_of(
        band_segments(ENERGY, TARIFF_VERSION.timezone, to_us(START), to_us(END) + 10**9)
    )
    with patch("homeassistant.config.async_hass_config_yaml", AsyncMock(return_value={})):
        async with async_test_home_assistant() as hass:
            try:
                return await _measure(hass, rows, band_at)
            finally:
                await hass.async_stop(force=True)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    if state is None:
        raise RuntimeError(f"{entity_id} does not exist")
    return state.state


async def _measure(hass: HomeAssistant, rows: list[Row], band_at: Callable[[int], str]) -> Outcome:
    meter = {"source": SOURCE, "cycle": "monthly", "tariffs": BANDS}
    assert await async_setup_component(hass, "utility_meter", {"utility_meter": {METER: meter}})
    template = {"template": [{"sensor": [{"name": "room_101_energy_cost",
                                          "unit_of_measurement": "EUR",
                                          "state": cost_template()}]}]}  # fmt: skip
    assert await async_setup_component(hass, "template", template)
    await hass.async_block_till_done()
    band, switches = None, 0
    loop_cpu, began = time.thread_time(), time.perf_counter()
    for number, (_, ts, energy_wh) in enumerate(rows):
        due = band_at(to_us(ts))
        if due != band:  # the automation: at a band boundary, switch the meter's tariff
            await hass.services.async_call(
                "select", "select_option", {"entity_id": f"select.{METER}", "option": due},
                blocking=True,
            )  # fmt: skip
            band, switches = due, switches + 1
        hass.states.async_set(SOURCE, format_kwh(energy_wh), SOURCE_ATTRIBUTES)
        if number % BATCH == BATCH - 1:
            await hass.async_block_till_done()
    await hass.async_block_till_done()
    seconds, loop_cpu = time.perf_counter() - began, time.thread_time() - loop_cpu
    return Outcome(
        seconds=seconds,
        kwh={band: Decimal(_state(hass, f"sensor.{METER}_{band}")) for band in BANDS},
        cost=_state(hass, COST),
        loop_cpu=loop_cpu,
        switches=switches,
    )


def ours(rows: list[Row]) -> Outcome:
    readings = [Reading(point_id=p, ts=ts, energy_wh=wh) for p, ts, wh in rows]
    rate_tenant(readings)  # warm caches, as bench_rating does
    seconds = []
    for _ in range(5):
        began = time.perf_counter()
        rate_tenant(readings)
        seconds.append(time.perf_counter() - began)
    # The peer's window: from the first reading to the last (ours would also bill the edges).
    first, last = rows[0][1], rows[-1][1]
    points = consumption(readings)
    intervals = [i for point in points.values() for i in point.intervals]
    rating = rate(intervals, TARIFF, start=first, end=last)
    energy = price(rating.energy_lines, "EUR")
    by_band = {line.band: Decimal(line.energy_wh) / 1000 for line in rating.energy_lines}
    return Outcome(seconds=min(seconds), kwh=by_band, cost=str(energy.total))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readings", type=int, default=43_201, help="first N of the month")
    parser.add_argument("--json", action="store_true", help="also print one BENCH_JSON line")
    args = parser.parse_args()
    rows = tuples("room-101", timedelta(minutes=1), random.Random(42))[: args.readings]
    peer = asyncio.run(feed_peer(rows))
    our = ours(rows)
    count = len(rows)
    moved = {band: our.kwh.get(band, Decimal(0)) - peer.kwh[band] for band in BANDS}
    rows_out = [
        {
            "measure": "peer: HA utility_meter (3 tariffs) + template cost",
            "value": f"{count / peer.seconds:,.0f} readings/s",
            "note": f"HA {ha_version}, {count:,} readings, {peer.seconds:.2f} s wall, "
            f"loop CPU {peer.loop_cpu / count * 1e6:.0f} µs/reading, "
            f"{peer.switches} tariff switches",
        },
        {
            "measure": "ours, same readings: consumption → rate → price",
            "value": f"{count / our.seconds:,.0f} readings/s",
            "note": f"best of 5, {our.seconds * 1e3:.1f} ms, same process",
        },
        {
            "measure": "peer vs ours: energy cost incl. tax",
            "value": f"{peer.cost} vs {our.cost} EUR",
            "note": "peer: a reading's whole delta to the band in force at its arrival, money "
            "in float; ours minus peer kWh: " + ", ".join(f"{b} {v:+}" for b, v in moved.items()),
        },
    ]
    for row in rows_out:
        print(f"{row['measure']:<52} {row['value']:>22}  {row['note']}")
    if args.json:
        print("BENCH_JSON " + json.dumps({"bench": "peer", "rows": rows_out}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
