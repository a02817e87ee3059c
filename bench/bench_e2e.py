"""Top-up → supply restored, end to end: latency p50 / p99.

One simulated breaker on a real Mosquitto, the ledger as a subprocess, Home Assistant's core
(test harness) with the integration and the arrears cut-off blueprint. Each round the ledger
takes the tenant to -1.00 EUR (an adjustment through its API; the blueprint cuts the supply),
then the clock starts: ``tenant_metering.top_up`` service call → ledger → retained tenant
state → status ``ok`` → blueprint → ``switch.turn_on`` → relay command → breaker → ack. The
clock stops when the simulated breaker's relay is on again.

Usage: .venv/bin/python bench/bench_e2e.py [--rounds 30] [--json]
"""

import argparse
import asyncio
from collections.abc import Callable
from datetime import timedelta
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time
from unittest.mock import AsyncMock, patch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# Our package first, so HA finds this repository's custom_components (HA_COMPAT.md).
from homeassistant import loader  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from pytest_homeassistant_custom_component.common import async_test_home_assistant  # noqa: E402

import custom_components.tenant_metering  # noqa: E402, F401
from custom_components.tenant_metering.const import DOMAIN  # noqa: E402
from tenant_sim.breakers import SimulatedChannel  # noqa: E402
from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    Blueprints,
    Ledger,
    metering_entries,
    mqtt_entry,
    quiet_fleet,
    quiet_hours,
    send,
    set_up,
    state,
    tenant_device,
    until,
)


async def _until(check: Callable[[], object]) -> None:
    await until(check, "benchmark condition", limit_s=30.0, poll_s=0.002)


async def _setup(hass: HomeAssistant, broker: MosquittoBroker, ledger: Ledger, tmp: Path) -> None:
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # enable custom integrations
    blueprints = Blueprints.install(hass, tmp / "config")
    await set_up(hass, [mqtt_entry(broker)])
    await set_up(hass, metering_entries(ledger))
    await blueprints.arrears_cutoff({"101": quiet_hours(timedelta(hours=2), timedelta(hours=3))})


async def _rounds(
    hass: HomeAssistant, ledger: Ledger, relay: SimulatedChannel, count: int
) -> list[float]:
    device_id = tenant_device(hass, "t101")
    latencies = []
    for _ in range(count):
        balance = await ledger.balance("t101")
        await ledger.call(
            "POST",
            "/api/tenants/t101/adjustments",
            {"amount": str(-balance - 1), "reason": "bench", "actor": "bench"},
            expect=201,
        )
        await _until(lambda: not relay.relay_on)
        await _until(lambda: state(hass, "switch.tenant_101_supply") == "off")
        started = time.perf_counter()
        await hass.services.async_call(
            DOMAIN, "top_up", {"device_id": device_id, "amount": "6.00", "reason": "bench"}
        )
        await _until(lambda: relay.relay_on)
        latencies.append((time.perf_counter() - started) * 1000)
        await _until(lambda: state(hass, "switch.tenant_101_supply") == "on")
    return latencies


async def run(rounds: int) -> list[float]:
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        MosquittoBroker(Path(tmp_name) / "broker") as broker,
        patch("homeassistant.config.async_hass_config_yaml", AsyncMock(return_value={})),
    ):
        tmp = Path(tmp_name)
        ledger = Ledger(tmp, broker)
        ledger.start()
        fleet = quiet_fleet(broker, channels=1)
        breaker = fleet.breakers[0]
        try:
            await ledger.building({"t101": f"mqtt:{breaker.device_id}:1"}, grace_days=0)
            async with async_test_home_assistant() as hass:
                try:
                    await _setup(hass, broker, ledger, tmp)
                    await hass.async_add_executor_job(fleet.connect)
                    await _until(lambda: state(hass, "sensor.tenant_101_status") is not None)
                    await _until(lambda: state(hass, "switch.room_101_relay") is not None)
                    await asyncio.sleep(1.0)  # HA subscribes to the breaker's topics
                    send(breaker, ledger.now(), {"1": 1_000_000})
                    await _until(lambda: state(hass, "switch.room_101_relay") == "on")
                    return await _rounds(hass, ledger, breaker.channels[0], rounds)
                finally:
                    await hass.async_add_executor_job(fleet.close)
                    await hass.async_stop(force=True)
        finally:
            ledger.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="also print one BENCH_JSON line")
    args = parser.parse_args()
    latencies = sorted(asyncio.run(run(args.rounds)))
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    note = f"{len(latencies)} rounds, service call → breaker relay on"
    print(f"top-up → supply restored (end to end), p50  {p50:8.1f} ms  ({note})")
    print(f"top-up → supply restored (end to end), p99  {p99:8.1f} ms")
    if args.json:
        rows = [
            {
                "measure": "top-up → supply restored, end to end, p50",
                "value": f"{p50:.1f} ms",
                "note": note,
            },
            {
                "measure": "top-up → supply restored, end to end, p99",
                "value": f"{p99:.1f} ms",
                "note": "",
            },
        ]
        print("BENCH_JSON " + json.dumps({"bench": "e2e", "rows": rows}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
