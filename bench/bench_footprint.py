"""Ledger footprint: process memory for 1,000 tenants, database bytes per channel-year.

The ledger runs as a subprocess exactly as the add-on runs it (``python -m tenant_ledger
serve``, SQLite, a real Mosquitto). The bench creates N tenants, each with one metering point
(API calls), then posts a month of hourly readings per point (``POST /api/readings``, one
request per point), which the ledger stores *and rates* (journal postings, rating periods).

* memory: the ledger process's resident set size (``VmRSS`` from /proc, the whole process:
  interpreter, SQLAlchemy, aiohttp, paho, caches) after seeding, plus its peak (``VmHWM``).
  Not tracemalloc: RSS is what the add-on costs the host.
* database bytes per reading: consistent snapshots of the database (SQLite backup API) before
  and after the readings, each VACUUMed; the size difference divided by the readings stored.
  It includes everything storing and rating a reading writes (readings table and indexes,
  journal postings, rating state). Per channel-year: x 525,600 readings at a 1-minute
  interval, x 3,153,600 at a 10-second interval.

Usage: .venv/bin/python bench/bench_footprint.py [--tenants 1000] [--days 30] [--json]
"""

import argparse
import asyncio
import json
from pathlib import Path
import sqlite3
import sys
import tempfile
import time
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT)]

from bench.bench_ledger import START, Ledger, seed_tenants  # noqa: E402
from tenant_sim.ledger_api import LedgerApi  # noqa: E402
from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402

MINUTE_YEAR = 365 * 24 * 60
TEN_SECOND_YEAR = 365 * 24 * 360


def _proc_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def _vacuumed_size(database: Path, work: Path, name: str) -> int:
    """Size of a consistent, VACUUMed copy of the live database."""
    copy = work / f"{name}.sqlite3"
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=60)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
        target.execute("VACUUM")
    finally:
        source.close()
        target.close()
    return copy.stat().st_size


async def _seed_readings(api: LedgerApi, points: list[str], hours: int) -> int:
    for index, point in enumerate(points):
        energy = 1_000_000 + index
        readings = []
        for hour in range(hours + 1):
            readings.append(
                {"point": point, "ts": START - hours * 3600 + hour * 3600, "energy_wh": energy}
            )
            energy += 300 + (hour * 37 + index) % 900  # 0.3 .. 1.2 kWh per hour
        await api.call("POST", "/api/readings", {"readings": readings})
    return len(points) * (hours + 1)


async def _measure_running(ledger: Ledger, work: Path, tenants: int, days: int) -> dict[str, Any]:
    database = ledger.data_dir / "ledger.sqlite3"
    assert ledger.process is not None
    async with ledger.api() as api:
        started = time.perf_counter()
        points = [f"mqtt:footprint:{number}" for number in range(tenants)]
        await seed_tenants(api, points)
        seed_tenants_s = time.perf_counter() - started
        before = _vacuumed_size(database, work, "before")
        started = time.perf_counter()
        stored = await _seed_readings(api, points, days * 24)
        seed_readings_s = time.perf_counter() - started
        assert ledger.count() == stored, (ledger.count(), stored)
        await api.call("GET", "/api/tenants")
    rss_kib = _proc_kib(ledger.process.pid, "VmRSS")
    peak_kib = _proc_kib(ledger.process.pid, "VmHWM")
    after = _vacuumed_size(database, work, "after")
    per_reading = (after - before) / stored
    return {
        "tenants": tenants,
        "readings": stored,
        "rss_mib": rss_kib / 1024,
        "peak_mib": peak_kib / 1024,
        "db_mib": after / 2**20,
        "bytes_per_reading": per_reading,
        "minute_year_mib": per_reading * MINUTE_YEAR / 2**20,
        "ten_second_year_mib": per_reading * TEN_SECOND_YEAR / 2**20,
        "seed_tenants_s": seed_tenants_s,
        "seed_readings_s": seed_readings_s,
    }


def measure(tenants: int, days: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        MosquittoBroker(Path(tmp_name) / "mq") as broker,
    ):
        tmp = Path(tmp_name)
        ledger = Ledger(tmp / "ledger", broker)
        ledger.start()
        try:
            return asyncio.run(_measure_running(ledger, tmp, tenants, days))
        finally:
            ledger.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30, help="hourly readings per point")
    parser.add_argument("--json", action="store_true", help="also print one BENCH_JSON line")
    args = parser.parse_args()
    m = measure(args.tenants, args.days)
    seeded = f"{m['tenants']:,} tenants, {m['readings']:,} hourly readings"
    rows = [
        {
            "measure": f"ledger memory, {m['tenants']:,} tenants (RSS / peak)",
            "value": f"{m['rss_mib']:.0f} / {m['peak_mib']:.0f} MiB",
            "note": f"{seeded}; database {m['db_mib']:.1f} MiB",
        },
        {
            "measure": "database bytes per stored + rated reading",
            "value": f"{m['bytes_per_reading']:.0f} B",
            "note": "SQLite after VACUUM, readings + rating + journal",
        },
        {
            "measure": "database per channel-year, 1-min readings",
            "value": f"{m['minute_year_mib']:.1f} MiB",
            "note": f"{MINUTE_YEAR:,} readings",
        },
        {
            "measure": "database per channel-year, 10-s readings",
            "value": f"{m['ten_second_year_mib']:.1f} MiB",
            "note": f"{TEN_SECOND_YEAR:,} readings",
        },
    ]
    print(f"seeding: tenants {m['seed_tenants_s']:.1f} s, readings {m['seed_readings_s']:.1f} s")
    for row in rows:
        print(f"{row['measure']:<46} {row['value']:>16}  {row['note']}")
    if args.json:
        print("BENCH_JSON " + json.dumps({"bench": "footprint", "rows": rows}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
