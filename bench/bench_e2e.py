"""Top-up → supply restored, end to end: latency p50 / p99, and where the time goes.

One simulated breaker on a real Mosquitto, the ledger as a subprocess, Home Assistant's core
(test harness) with the integration and the arrears cut-off blueprint. Each round the ledger
takes the tenant to -1.00 EUR (an adjustment through its API; the blueprint cuts the supply);
once that cut-off is over (recorded by the ledger, the automation idle) the clock starts:
``tenant_metering.top_up`` service call → ledger → retained tenant state → status ``ok`` →
blueprint → ``switch.turn_on`` → relay command → breaker. The clock stops when the simulated
breaker switches its relay on (its own ``time.perf_counter()`` stamp, not a poll); the
breaker's ack reaching HA is timed too, as a hop of its own (``tests/e2e/harness.py``
``RestoreTimer``).

The broker runs with ``set_tcp_nodelay true``, as docs/integration.md recommends: without it
Mosquitto holds a small packet until the previous one is acknowledged, and a client's delayed
ACK makes that 40 ms.

Usage: .venv/bin/python bench/bench_e2e.py [--rounds 30] [--json]
"""

import argparse
import asyncio
from datetime import timedelta
import json
from pathlib import Path
import statistics
import sys
import tempfile
from unittest.mock import AsyncMock, patch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# Our package first, so HA finds this repository's custom_components (HA_COMPAT.md).
from homeassistant import loader  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from pytest_homeassistant_custom_component.common import async_test_home_assistant  # noqa: E402

import custom_components.tenant_metering  # noqa: E402, F401
from tenant_sim.breakers import SimulatedChannel  # noqa: E402
from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402
from tests.e2e.harness import (  # noqa: E402
    Blueprints,
    Ledger,
    RestoreHops,
    RestoreTimer,
    cut_off_and_restore,
    median_hops,
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

_SET_UP = "the benchmark's set-up"


async def _setup(hass: HomeAssistant, broker: MosquittoBroker, ledger: Ledger, tmp: Path) -> None:
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # enable custom integrations
    blueprints = Blueprints.install(hass, tmp / "config")
    await set_up(hass, [mqtt_entry(broker)])
    await set_up(hass, metering_entries(ledger))
    await blueprints.arrears_cutoff({"101": quiet_hours(timedelta(hours=2), timedelta(hours=3))})


async def _rounds(
    hass: HomeAssistant, ledger: Ledger, relay: SimulatedChannel, count: int
) -> list[RestoreHops]:
    device_id = tenant_device(hass, "t101")
    timer = RestoreTimer(hass, "101", relay)
    try:
        return [await cut_off_and_restore(hass, ledger, timer, device_id) for _ in range(count)]
    finally:
        timer.stop()


async def run(rounds: int) -> list[RestoreHops]:
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        MosquittoBroker(Path(tmp_name) / "broker", tcp_nodelay=True) as broker,
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
                    await until(
                        lambda: state(hass, "sensor.tenant_101_status") is not None, _SET_UP
                    )
                    await until(lambda: state(hass, "switch.room_101_relay") is not None, _SET_UP)
                    await asyncio.sleep(1.0)  # HA subscribes to the breaker's topics
                    send(breaker, ledger.now(), {"1": 1_000_000})
                    await until(lambda: state(hass, "switch.room_101_relay") == "on", _SET_UP)
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
    rounds = asyncio.run(run(args.rounds))
    latencies = sorted(hop.restored_ms for hop in rounds)
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    hops = median_hops(rounds)
    note = f"{len(latencies)} rounds, service call → breaker relay on"
    where = (
        f"medians: top-up → ledger → retained state → HA status {hops.decision_ms:.1f} ms; "
        f"status → blueprint → switch.turn_on → relay command → breaker {hops.command_ms:.1f} ms; "
        f"then the ack → HA's relay on {hops.ack_ms:.1f} ms. No poll, timer or delay on the "
        "way; the broker with set_tcp_nodelay true"
    )
    print(f"top-up → supply restored (end to end), p50  {p50:8.1f} ms  ({note})")
    print(f"top-up → supply restored (end to end), p99  {p99:8.1f} ms")
    print(f"where the time goes: {where}")
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
            {
                "measure": "top-up → supply restored: where the time goes",
                "value": "",
                "note": where,
            },
        ]
        print("BENCH_JSON " + json.dumps({"bench": "e2e", "rows": rows}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
