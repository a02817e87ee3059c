"""Benchmark the MQTT breaker hub: discovery latency and CPU per state message.

Runs a real Home Assistant core (HA's test harness, no recorder, no frontend) whose MQTT
integration is connected to a real Mosquitto broker, with simulated breakers
(tenant_sim.breakers, one paho connection per breaker, in this process's threads).

What it measures, honestly:

* discovery latency — wall time from a breaker connecting (it then publishes its retained
  announcement) until its relay switches exist in HA's state machine, and from its first
  state message until its measurement sensors exist. Includes the broker round trip.
* CPU per state message — CPU time of HA's event-loop thread (``time.thread_time`` read
  inside the loop) while the fleet publishes bursts of state messages, divided by the
  messages HA processed. It covers HA's MQTT client (receive and dispatch), our parsing,
  readings publishing to the ledger topic and entity state writes. It excludes the
  simulator's and paho's threads and the recorder (not loaded). Messages are sent in bursts,
  not at 10 s intervals, so the per-message cost is measured; the load at a 10 s interval
  is that cost times messages per second.
* handler only — the hub's ``BreakerTopics._on_state`` called directly with pre-built
  messages: our share.

Usage: .venv/bin/python bench/bench_integration.py [--breakers 50] [--channels 10]
"""

import argparse
import asyncio
import json
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any
from unittest.mock import AsyncMock, patch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# Our package first, so HA finds this repository's custom_components (HA_COMPAT.md).
from homeassistant import loader  # noqa: E402
from homeassistant.components.mqtt.models import ReceiveMessage  # noqa: E402
from homeassistant.core import HomeAssistant  # noqa: E402
from pytest_homeassistant_custom_component.common import (  # noqa: E402
    MockConfigEntry,
    async_test_home_assistant,
)

import custom_components.tenant_metering  # noqa: E402, F401
from custom_components.tenant_metering.const import (  # noqa: E402
    CONF_KIND,
    CONF_PREFIX,
    DOMAIN,
    KIND_MQTT_HUB,
)
from custom_components.tenant_metering.sources.mqtt.hub import MqttHub  # noqa: E402
from tenant_sim.breakers import BreakerFleet  # noqa: E402
from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402


async def _until(check: Any, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.002)


def _entities(hass: HomeAssistant, domain: str) -> int:
    return len(hass.states.async_entity_ids(domain))


async def _setup(hass: HomeAssistant, broker: MosquittoBroker) -> MqttHub:
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # enable custom integrations
    mqtt_entry = MockConfigEntry(domain="mqtt", data={"broker": broker.host, "port": broker.port})
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    hub_entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: "tenant_metering"}
    )
    hub_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub: MqttHub = hub_entry.runtime_data
    return hub


async def _discovery(
    hass: HomeAssistant, fleet: BreakerFleet, sample: int
) -> tuple[list[float], list[float]]:
    """Per breaker: connect → relay switches exist; first state → sensors exist."""
    announce_ms: list[float] = []
    first_state_ms: list[float] = []
    for breaker in fleet.breakers[:sample]:
        switches = _entities(hass, "switch") + len(breaker.channels)
        started = time.perf_counter()
        await hass.async_add_executor_job(breaker.connect)
        await _until(lambda switches=switches: _entities(hass, "switch") >= switches)
        announce_ms.append((time.perf_counter() - started) * 1000)
        # HA's MQTT client batches new subscriptions (about 0.5 s cooldown); a real breaker's
        # next state comes seconds later. Wait for the subscription, then time one state.
        await asyncio.sleep(1.0)
        sensors = _entities(hass, "sensor") + 6 * len(breaker.channels)
        started = time.perf_counter()
        await hass.async_add_executor_job(breaker.step)
        await _until(lambda sensors=sensors: _entities(hass, "sensor") >= sensors)
        first_state_ms.append((time.perf_counter() - started) * 1000)
    return announce_ms, first_state_ms


async def _cpu_per_message(
    hass: HomeAssistant, hub: MqttHub, fleet: BreakerFleet, rounds: int
) -> tuple[float, int]:
    """Loop-thread CPU seconds per state message while the fleet publishes bursts."""

    def _processed() -> int:
        return sum(b.last_seq or 0 for b in hub.breakers.values())

    target = _processed() + rounds * len(fleet.breakers)
    cpu_start = time.thread_time()
    for _ in range(rounds):
        await hass.async_add_executor_job(fleet.step_all)
    await _until(lambda: _processed() >= target)
    await hass.async_block_till_done()
    cpu = time.thread_time() - cpu_start
    return cpu / (rounds * len(fleet.breakers)), rounds * len(fleet.breakers)


def _handler_only(hub: MqttHub, fleet: BreakerFleet, count: int) -> float:
    """CPU seconds per direct ``_on_state`` call (parse, publish readings, write states)."""
    breaker = fleet.breakers[0]
    known = hub.breakers[breaker.device_id]
    template = breaker.step()
    messages = []
    for i in range(1, count + 1):
        payload = {**template, "seq": template["seq"] + 1_000_000 + i, "ts": template["ts"] + i}
        messages.append(
            ReceiveMessage(
                topic=f"{breaker.base_topic}/state",
                payload=json.dumps(payload),
                qos=0,
                retain=False,
                subscribed_topic=f"{breaker.base_topic}/state",
                timestamp=time.time(),
            )
        )
    start = time.thread_time()
    for message in messages:
        hub._topics._on_state(known, message)
    return (time.thread_time() - start) / count


async def run(args: argparse.Namespace) -> list[tuple[str, str]]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        MosquittoBroker(Path(tmp) / "broker") as broker,
        patch("homeassistant.config.async_hass_config_yaml", AsyncMock(return_value={})),
    ):
        async with async_test_home_assistant() as hass:
            hub = await _setup(hass, broker)
            fleet = BreakerFleet.build(
                broker.host, broker.port, breakers=args.breakers, channels=args.channels
            )
            try:
                announce_ms, first_state_ms = await _discovery(hass, fleet, args.sample)
                for breaker in fleet.breakers[args.sample :]:
                    await hass.async_add_executor_job(breaker.connect)
                await asyncio.sleep(2.0)  # let HA finish subscribing for every breaker
                await hass.async_add_executor_job(fleet.step_all)
                total_sensors = 6 * args.breakers * args.channels
                await _until(lambda: _entities(hass, "sensor") >= total_sensors)
                per_message, messages = await _cpu_per_message(hass, hub, fleet, args.rounds)
                handler = _handler_only(hub, fleet, 200)
                await hass.async_block_till_done()
            finally:
                await hass.async_add_executor_job(fleet.close)
                await hass.async_stop(force=True)
    channels = args.breakers * args.channels
    msgs_per_s = args.breakers / args.interval
    return [
        ("breakers x channels", f"{args.breakers} x {args.channels} = {channels}"),
        (
            "announcement → relay switches (median / max)",
            f"{statistics.median(announce_ms):.0f} / {max(announce_ms):.0f} ms"
            f" (n={len(announce_ms)}, incl. paho connect)",
        ),
        (
            "first state → sensors (median / max)",
            f"{statistics.median(first_state_ms):.1f} / {max(first_state_ms):.1f} ms",
        ),
        (
            f"loop CPU per state message ({args.channels} channels)",
            f"{per_message * 1e3:.3f} ms (n={messages})",
        ),
        ("  per channel reading", f"{per_message * 1e6 / args.channels:.0f} µs"),
        (
            f"  → load at {args.interval:g} s interval ({msgs_per_s:g} msg/s)",
            f"{per_message * msgs_per_s * 100:.2f} % of one core",
        ),
        ("handler only (_on_state) per message", f"{handler * 1e3:.3f} ms"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--breakers", type=int, default=50)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--interval", type=float, default=10.0, help="state interval, seconds")
    parser.add_argument("--rounds", type=int, default=10, help="state bursts to time")
    parser.add_argument("--sample", type=int, default=10, help="breakers timed for discovery")
    args = parser.parse_args()
    rows = asyncio.run(run(args))
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
