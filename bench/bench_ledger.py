"""Ledger throughput and latency on this machine; prints a table.

- readings ingested *and rated* per second over MQTT (QoS 1, a real Mosquitto, the ledger as a
  subprocess exactly as the add-on runs it), and through ``POST /api/readings`` in batches;
- top-up -> retained tenant state on the broker: latency p50 / p99.

Usage: ``.venv/bin/python bench/bench_ledger.py [--points 100] [--readings 500]``
"""

import argparse
import asyncio
from collections.abc import Sequence
import json
from pathlib import Path
import queue
import sqlite3
import statistics
import sys
import tempfile
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "addon")]

from tenant_sim.ledger_api import LedgerApi  # noqa: E402
from tenant_sim.ledger_process import LedgerProcess  # noqa: E402
from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402

TOKEN = "bench-token"
START = 1_795_132_800  # 2026-11-20 00:00 UTC
TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.2917"},
}


class Ledger(LedgerProcess):
    """The ledger as the add-on runs it (warnings only, to a log in the temporary directory)."""

    def __init__(self, data_dir: Path, broker: MosquittoBroker) -> None:
        super().__init__(
            data_dir,
            admin_token=TOKEN,
            mqtt_url=broker.url,
            args=["--timezone", "Europe/Berlin", "--log-level", "warning"],
            log_path=data_dir.parent / "ledger.log",
        )

    def count(self) -> int:
        with sqlite3.connect(self.data_dir / "ledger.sqlite3", timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM readings").fetchone()[0])


async def seed_tenants(api: LedgerApi, points: Sequence[str]) -> None:
    """The tariff, one prepaid plan, and per point a tenant ``t<n>`` moved in on it."""
    await api.call(
        "POST",
        "/api/tariffs/std/versions",
        {"tariff": TARIFF, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "bench"},
    )
    await api.call(
        "POST", "/api/plans", {"id": "p", "name": "Prepaid", "kind": "prepaid", "tariff": "std"}
    )
    for n, point in enumerate(points):
        await api.call("POST", "/api/tenants", {"id": f"t{n}", "name": point, "plan": "p"})
        await api.call("POST", "/api/points", {"id": point, "name": point})
        await api.call(
            "POST",
            f"/api/tenants/t{n}/move-in",
            {"points": [point], "at": "2026-11-01T00:00:00+01:00"},
        )


def _messages(points: list[str], per_point: int, offset: int, per_message: int) -> list[bytes]:
    payloads = []
    for first in range(0, per_point, per_message):
        for index, point in enumerate(points):
            readings = [
                {
                    "point": point,
                    "ts": START + offset + step * 10,
                    # 7 Wh per 10 s step (2.5 kW): continuous across calls, so no reading
                    # is quarantined as implausible
                    "energy_wh": (offset // 10 + step) * 7 + index,
                }
                for step in range(first, min(first + per_message, per_point))
            ]
            payloads.append(json.dumps({"readings": readings}).encode())
    return payloads


def bench_mqtt(ledger: Ledger, client: mqtt.Client, points: list[str], per_point: int) -> float:
    payloads = _messages(points, per_point, 0, 100)
    total, before = len(points) * per_point, ledger.count()
    started = time.perf_counter()
    for payload in payloads:
        client.publish("tenant_metering/readings", payload, qos=1)
    while ledger.count() - before < total:
        time.sleep(0.01)
    return total / (time.perf_counter() - started)


async def bench_api(api: LedgerApi, points: list[str], per_point: int) -> float:
    batches = [json.loads(p) for p in _messages(points, per_point, per_point * 10, 100)]
    # the MQTT grouping (100 readings of a point together), 1000 readings per request
    readings = [r for batch in batches for r in batch["readings"]]
    started = time.perf_counter()
    for first in range(0, len(readings), 1000):
        await api.call("POST", "/api/readings", {"readings": readings[first : first + 1000]})
    return len(readings) / (time.perf_counter() - started)


async def bench_topup(
    api: LedgerApi, arrivals: "queue.Queue[tuple[bytes, float]]", rounds: int
) -> list[float]:
    latencies = []
    for number in range(1, rounds + 1):
        while not arrivals.empty():
            arrivals.get_nowait()
        started = time.perf_counter()
        result = await api.call(
            "POST",
            "/api/tenants/t0/topups",
            {"amount": "1.00", "reason": "bench", "ref": f"bench-{number}"},
        )
        while True:
            payload, arrived = arrivals.get(timeout=10)
            if json.loads(payload)["balance"] == result["balance"]:
                latencies.append((arrived - started) * 1000)
                break
    return latencies


async def measure(
    args: argparse.Namespace, broker: MosquittoBroker, ledger: Ledger
) -> tuple[float, float, list[float]]:
    """Readings per second via MQTT and via the API, and the top-up latencies."""
    points = [f"mqtt:bench:{n}" for n in range(args.points)]
    async with ledger.api() as api:
        await seed_tenants(api, points)
        arrivals: queue.Queue[tuple[bytes, float]] = queue.Queue()
        client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        client.on_message = lambda _c, _u, m: arrivals.put((m.payload, time.perf_counter()))
        client.connect(broker.host, broker.port)
        client.subscribe("tenant_metering/ledger/tenant/t0/state", qos=1)
        client.loop_start()
        try:
            mqtt_rate = bench_mqtt(ledger, client, points, args.readings)
            api_rate = await bench_api(api, points, args.readings)
            latencies = sorted(await bench_topup(api, arrivals, args.topups))
        finally:
            client.disconnect()
            client.loop_stop()
    return mqtt_rate, api_rate, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--readings", type=int, default=500, help="per point, per phase")
    parser.add_argument("--topups", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MosquittoBroker(Path(tmp) / "mosquitto") as broker:
        ledger = Ledger(Path(tmp) / "ledger", broker)
        ledger.start()
        try:
            mqtt_rate, api_rate, latencies = asyncio.run(measure(args, broker, ledger))
        finally:
            ledger.stop()
    total = args.points * args.readings
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rows = [
        (
            "readings via MQTT (QoS 1), stored + rated",
            f"{mqtt_rate:,.0f} /s",
            f"{total:,} readings, 100 per message",
        ),
        (
            "readings via POST /api/readings",
            f"{api_rate:,.0f} /s",
            f"{total:,} readings, 1000 per request",
        ),
        (
            "top-up -> retained state, p50",
            f"{statistics.median(latencies):.1f} ms",
            f"{len(latencies)} top-ups",
        ),
        ("top-up -> retained state, p99", f"{p99:.1f} ms", ""),
    ]
    print(f"{'measure':<44} {'result':>12}  notes")
    print("-" * 90)
    for name, value, note in rows:
        print(f"{name:<44} {value:>12}  {note}")


if __name__ == "__main__":
    main()
