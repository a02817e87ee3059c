"""Ledger throughput and latency on this machine; prints a table.

- readings ingested *and rated* per second over MQTT (QoS 1, a real Mosquitto, the ledger as a
  subprocess exactly as the add-on runs it), and through ``POST /api/readings`` in batches;
- top-up -> retained tenant state on the broker: latency p50 / p99.

Usage: ``.venv/bin/python bench/bench_ledger.py [--points 100] [--readings 500]``
"""

import argparse
import json
import os
from pathlib import Path
import queue
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any
import urllib.request

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "addon")]

from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402
from tenant_sim.net import free_port, wait_for_port  # noqa: E402

TOKEN = "bench-token"
START = 1_795_132_800  # 2026-11-20 00:00 UTC
TARIFF = {
    "currency": "EUR",
    "timezone": "Europe/Berlin",
    "energy": {"type": "flat", "rate": "0.2917"},
}


class Ledger:
    def __init__(self, data_dir: Path, broker: MosquittoBroker) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")}
        argv = [
            sys.executable, "-m", "tenant_ledger", "serve", "--data-dir", str(data_dir),
            "--port", str(self.port), "--mqtt-url", broker.url, "--admin-token", TOKEN,
            "--timezone", "Europe/Berlin", "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, env=env)
        wait_for_port(self.port, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read())

    def count(self) -> int:
        with sqlite3.connect(self.data_dir / "ledger.sqlite3", timeout=30) as connection:
            return int(connection.execute("SELECT count(*) FROM readings").fetchone()[0])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


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


def bench_api(ledger: Ledger, points: list[str], per_point: int) -> float:
    batches = [json.loads(p) for p in _messages(points, per_point, per_point * 10, 100)]
    # the MQTT grouping (100 readings of a point together), 1000 readings per request
    readings = [r for batch in batches for r in batch["readings"]]
    started = time.perf_counter()
    for first in range(0, len(readings), 1000):
        ledger.call("POST", "/api/readings", {"readings": readings[first : first + 1000]})
    return len(readings) / (time.perf_counter() - started)


def bench_topup(
    ledger: Ledger, client: mqtt.Client, arrivals: "queue.Queue[tuple[bytes, float]]", rounds: int
) -> list[float]:
    latencies = []
    for number in range(1, rounds + 1):
        while not arrivals.empty():
            arrivals.get_nowait()
        started = time.perf_counter()
        result = ledger.call(
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--readings", type=int, default=500, help="per point, per phase")
    parser.add_argument("--topups", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, MosquittoBroker(Path(tmp) / "mosquitto") as broker:
        ledger = Ledger(Path(tmp) / "ledger", broker)
        try:
            ledger.call(
                "POST",
                "/api/tariffs/std/versions",
                {
                    "tariff": TARIFF,
                    "effective_from": "2026-01-01T00:00:00+01:00",
                    "reason": "bench",
                },
            )
            ledger.call(
                "POST",
                "/api/plans",
                {"id": "p", "name": "Prepaid", "kind": "prepaid", "tariff": "std"},
            )
            points = [f"mqtt:bench:{n}" for n in range(args.points)]
            for n, point in enumerate(points):
                ledger.call("POST", "/api/tenants", {"id": f"t{n}", "name": point, "plan": "p"})
                ledger.call("POST", "/api/points", {"id": point, "name": point})
                ledger.call(
                    "POST",
                    f"/api/tenants/t{n}/move-in",
                    {"points": [point], "at": "2026-11-01T00:00:00+01:00"},
                )
            arrivals: queue.Queue[tuple[bytes, float]] = queue.Queue()
            client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
            client.on_message = lambda _c, _u, m: arrivals.put((m.payload, time.perf_counter()))
            client.connect(broker.host, broker.port)
            client.subscribe("tenant_metering/ledger/tenant/t0/state", qos=1)
            client.loop_start()
            try:
                mqtt_rate = bench_mqtt(ledger, client, points, args.readings)
                api_rate = bench_api(ledger, points, args.readings)
                latencies = sorted(bench_topup(ledger, client, arrivals, args.topups))
            finally:
                client.disconnect()
                client.loop_stop()
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
