"""Benchmark the MQTT breaker hub: discovery latency and CPU per state message.

Runs a real Home Assistant core (HA's test harness, no recorder, no frontend) whose MQTT
integration is connected to a real Mosquitto broker, with simulated breakers
(tenant_sim.breakers, one paho connection per breaker, in this process's threads).

What it measures, honestly:

* discovery latency — from HA's MQTT client receiving a breaker's announcement (the
  message's receive timestamp) until the last of its relay switches has its first state in
  HA's state machine (a state-changed listener's clock, not polling). Two workloads:
  the whole fleet at once (every breaker's retained announcement reaches the hub in one
  burst when it subscribes, as after a restart: first announcement received → last relay
  switch live), and one breaker after the other (a second fleet; median and max over every
  breaker, so over ``--sample`` x channels channels). The second figure also comes from the
  breaker's connect, which adds paho's connect and the broker's delivery. The broker runs
  with ``set_tcp_nodelay true``, as docs/integration.md recommends: Mosquitto's default
  (Nagle's algorithm against delayed ACKs) adds about 40 ms there, outside HA.
* first state → sensors — from a breaker publishing its first state message until its
  measurement sensors are live (includes the broker round trip).
* CPU per state message — CPU time of HA's event-loop thread (``time.thread_time`` read
  inside the loop) while the fleet publishes bursts of state messages, divided by the
  messages HA processed. It covers HA's MQTT client (receive and dispatch), our parsing,
  readings publishing to the ledger topic and entity state writes. It excludes the
  simulator's and paho's threads and the recorder (not loaded). Messages are sent in bursts,
  not at 10 s intervals, so the per-message cost is measured; the load at a 10 s interval
  is that cost times messages per second.
* handler only — the hub's ``BreakerTopics._on_state`` called directly with a breaker's
  successive state messages 10 s apart (so measurements and registers move as they do in
  use): our share. ``--profile`` prints where its time goes.

Every timed sample (each breaker's announcement and first state, the fleet's burst, both CPU
runs) starts from a full garbage collection. A full collection of the whole process's heap
(0.15-0.3 s here, with HA, 100 breakers and 3,600 entities) comes once per so many
allocations of the whole process and falls on whichever operation crosses the threshold; one
landing in a sample would decide its figure on its own (it made the earlier first-state
maximum of several hundred ms).

Usage: .venv/bin/python bench/bench_integration.py [--breakers 50] [--channels 10] [--profile]
"""

import argparse
import asyncio
from collections import defaultdict
import cProfile
import gc
import io
import json
from pathlib import Path
import pstats
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
from homeassistant.components import mqtt  # noqa: E402
from homeassistant.components.mqtt.models import ReceiveMessage  # noqa: E402
from homeassistant.const import EVENT_STATE_CHANGED  # noqa: E402
from homeassistant.core import (  # noqa: E402
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import entity_registry as er  # noqa: E402
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
from custom_components.tenant_metering.sources.mqtt import protocol  # noqa: E402
from custom_components.tenant_metering.sources.mqtt.hub import MqttHub  # noqa: E402
from tenant_sim.breakers import DEFAULT_PREFIX, BreakerFleet, SimulatedBreaker  # noqa: E402
from tenant_sim.mosquitto import MosquittoBroker  # noqa: E402

# HA's MQTT client sends new subscriptions after a cooldown (0.5 s at start, 0.1 s later).
SUBSCRIBE_SETTLE_S = 1.0


async def _until(check: Any, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.002)


def _entities(hass: HomeAssistant, domain: str) -> int:
    return len(hass.states.async_entity_ids(domain))


class Arrivals:
    """When HA's MQTT client received each announcement, and when each entity went live.

    Both on ``time.monotonic``: an announcement's time is the receive timestamp HA's MQTT
    client stamps on the message (paho's, taken as it reads the packet), so the hub's own
    handling of it counts; an entity is live when its first state is written.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self.announced: dict[str, float] = {}  # device id → announcement received
        self.live: defaultdict[str, dict[str, float]] = defaultdict(dict)  # device → entity → t
        self._stops: list[CALLBACK_TYPE] = []

    async def async_start(self, prefix: str) -> None:
        @callback
        def _on_announcement(msg: ReceiveMessage) -> None:
            device_id = protocol.discovery_device_id(msg.topic, prefix)
            if device_id is not None:
                self.announced.setdefault(device_id, msg.timestamp)

        @callback
        def _on_state_changed(event: Event[EventStateChangedData]) -> None:
            if event.data["old_state"] is not None:
                return
            now = time.monotonic()
            entry = er.async_get(self._hass).async_get(event.data["entity_id"])
            if entry is not None and entry.platform == DOMAIN:
                # Device ids hold no "_" (protocol.VALID_ID): the unique id's head is it.
                self.live[entry.unique_id.partition("_")[0]][entry.entity_id] = now

        # The same topic filter as the hub's: HA subscribes once, both get every message.
        self._stops = [
            await mqtt.async_subscribe(
                self._hass,
                f"{prefix}/{protocol.DISCOVERY_SEGMENT}/+/{protocol.CONFIG_SUFFIX}",
                _on_announcement,
                1,
            ),
            self._hass.bus.async_listen(EVENT_STATE_CHANGED, _on_state_changed),
        ]

    @callback
    def stop(self) -> None:
        """Stop listening: the CPU figures are taken without the bench's own listeners."""
        for stop in self._stops:
            stop()

    def switches_live(self, breaker: SimulatedBreaker) -> float | None:
        """When the breaker's last relay switch went live, once all of them are."""
        times = [
            t for entity_id, t in self.live[breaker.device_id].items() if "switch." in entity_id
        ]
        return max(times) if len(times) >= len(breaker.channels) else None


async def _setup(hass: HomeAssistant, broker: MosquittoBroker) -> None:
    hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # enable custom integrations
    mqtt_entry = MockConfigEntry(domain="mqtt", data={"broker": broker.host, "port": broker.port})
    mqtt_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mqtt_entry.entry_id)
    await hass.async_block_till_done()


async def _setup_hub(hass: HomeAssistant) -> MqttHub:
    hub_entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: DEFAULT_PREFIX}
    )
    hub_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    hub: MqttHub = hub_entry.runtime_data
    return hub


async def _fleet_at_once(arrivals: Arrivals, fleet: BreakerFleet) -> float:
    """First announcement received → every relay switch of the fleet live, in ms."""
    lives: list[float | None] = []

    def _all_live() -> bool:
        lives[:] = [arrivals.switches_live(breaker) for breaker in fleet.breakers]
        return all(t is not None for t in lives)

    await _until(_all_live)
    received = [arrivals.announced[breaker.device_id] for breaker in fleet.breakers]
    return (max(t for t in lives if t is not None) - min(received)) * 1000


async def _one_by_one(
    hass: HomeAssistant, arrivals: Arrivals, fleet: BreakerFleet, state_sample: int
) -> tuple[list[float], list[float], list[float]]:
    """Per breaker, alone: announcement received → its relay switches live; connect → the
    same; for the first ``state_sample``: first state → its sensors live (ms)."""
    announce_ms: list[float] = []
    connect_ms: list[float] = []
    first_state_ms: list[float] = []
    for index, breaker in enumerate(fleet.breakers):
        gc.collect()  # see the module docstring
        started = time.monotonic()
        await hass.async_add_executor_job(breaker.connect)
        await _until(lambda breaker=breaker: arrivals.switches_live(breaker) is not None)
        live = arrivals.switches_live(breaker)
        assert live is not None
        announce_ms.append((live - arrivals.announced[breaker.device_id]) * 1000)
        connect_ms.append((live - started) * 1000)
        if index >= state_sample:
            continue
        # A real breaker's next state comes seconds later: let HA subscribe to it first.
        await asyncio.sleep(SUBSCRIBE_SETTLE_S)
        sensors = _entities(hass, "sensor") + 6 * len(breaker.channels)
        gc.collect()
        started = time.perf_counter()
        await hass.async_add_executor_job(breaker.step)
        await _until(lambda sensors=sensors: _entities(hass, "sensor") >= sensors)
        first_state_ms.append((time.perf_counter() - started) * 1000)
    return announce_ms, connect_ms, first_state_ms


async def _cpu_per_message(
    hass: HomeAssistant, hub: MqttHub, fleet: BreakerFleet, rounds: int
) -> tuple[float, int]:
    """Loop-thread CPU seconds per state message while the fleet publishes bursts."""

    def _processed() -> int:
        return sum(b.last_seq or 0 for b in hub.breakers.values())

    target = _processed() + rounds * len(fleet.breakers)
    gc.collect()  # see the module docstring
    cpu_start = time.thread_time()
    for _ in range(rounds):
        await hass.async_add_executor_job(fleet.step_all)
    await _until(lambda: _processed() >= target)
    await hass.async_block_till_done()
    cpu = time.thread_time() - cpu_start
    return cpu / (rounds * len(fleet.breakers)), rounds * len(fleet.breakers)


def _handler_only(
    hub: MqttHub, fleet: BreakerFleet, count: int, profile: bool
) -> tuple[float, str]:
    """CPU seconds per direct ``_on_state`` call (parse, publish readings, write what
    changed), over a breaker's successive messages 10 s apart; and its profile if asked."""
    breaker = fleet.breakers[0]
    known = hub.breakers[breaker.device_id]
    assert known.last_seq is not None
    assert known.last_ts is not None
    # The same breaker (same id, channels and load profiles), unconnected: its step() only
    # returns the message, on a clock running from the fleet's last message in 10 s steps.
    twin = BreakerFleet.build(
        breaker.host, breaker.port, breakers=1, channels=len(breaker.channels)
    ).breakers[0]
    twin.seq = known.last_seq
    for twin_channel, channel in zip(twin.channels, breaker.channels, strict=True):
        twin_channel.energy_wh = channel.energy_wh
    start_ts = known.last_ts
    messages = [
        ReceiveMessage(
            topic=f"{breaker.base_topic}/state",
            payload=json.dumps(twin.step(start_ts + 10.0 * i)),
            qos=0,
            retain=False,
            subscribed_topic=f"{breaker.base_topic}/state",
            timestamp=time.monotonic(),
        )
        for i in range(1, count + 1)
    ]
    profiler = cProfile.Profile() if profile else None
    gc.collect()  # see the module docstring
    start = time.thread_time()
    if profiler is not None:
        profiler.enable()
    for message in messages:
        hub._topics._on_state(known, message)
    if profiler is not None:
        profiler.disable()
    per_message = (time.thread_time() - start) / count
    report = io.StringIO()
    if profiler is not None:
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(30)
    return per_message, report.getvalue()


async def run(args: argparse.Namespace) -> tuple[list[tuple[str, str]], str]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        MosquittoBroker(Path(tmp) / "broker", tcp_nodelay=True) as broker,
        patch("homeassistant.config.async_hass_config_yaml", AsyncMock(return_value={})),
    ):
        async with async_test_home_assistant() as hass:
            await _setup(hass, broker)
            arrivals = Arrivals(hass)
            fleet = BreakerFleet.build(
                broker.host, broker.port, breakers=args.breakers, channels=args.channels
            )
            # Announced before the hub listens: their retained announcements reach it at once.
            await hass.async_add_executor_job(fleet.connect)
            one_by_one = BreakerFleet.build(
                broker.host, broker.port, breakers=args.sample, channels=args.channels, seed=1
            )
            try:
                await arrivals.async_start(DEFAULT_PREFIX)
                gc.collect()  # see the module docstring
                hub = await _setup_hub(hass)
                at_once_ms = await _fleet_at_once(arrivals, fleet)
                announce_ms, connect_ms, first_state_ms = await _one_by_one(
                    hass, arrivals, one_by_one, args.state_sample
                )
                arrivals.stop()
                await asyncio.sleep(2 * SUBSCRIBE_SETTLE_S)  # HA subscribed to every breaker
                await hass.async_add_executor_job(fleet.step_all)
                total_sensors = 6 * (args.breakers + args.state_sample) * args.channels
                await _until(lambda: _entities(hass, "sensor") >= total_sensors)
                per_message, messages = await _cpu_per_message(hass, hub, fleet, args.rounds)
                handler, profile = _handler_only(hub, fleet, 200, args.profile)
                await hass.async_block_till_done()
            finally:
                await hass.async_add_executor_job(one_by_one.close)
                await hass.async_add_executor_job(fleet.close)
                await hass.async_stop(force=True)
    channels = args.breakers * args.channels
    msgs_per_s = args.breakers / args.interval
    return [
        ("breakers x channels", f"{args.breakers} x {args.channels} = {channels}"),
        (
            f"announcements at once → relay switches ({channels} channels)",
            f"{at_once_ms:.0f} ms (first received → last live)",
        ),
        (
            "announcement → relay switches (median / max)",
            f"{statistics.median(announce_ms):.1f} / {max(announce_ms):.1f} ms"
            f" (n={len(announce_ms)} breakers, {len(announce_ms) * args.channels} channels)",
        ),
        (
            "  from breaker connect (median / max)",
            f"{statistics.median(connect_ms):.0f} / {max(connect_ms):.0f} ms"
            " (+ paho connect, broker)",
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
        ("handler only (_on_state), messages 10 s apart", f"{handler * 1e3:.3f} ms"),
    ], profile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--breakers", type=int, default=50)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--interval", type=float, default=10.0, help="state interval, seconds")
    parser.add_argument("--rounds", type=int, default=10, help="state bursts to time")
    parser.add_argument(
        "--sample", type=int, default=50, help="breakers announced one by one (a second fleet)"
    )
    parser.add_argument(
        "--state-sample", type=int, default=10, help="of those, breakers timed to first state"
    )
    parser.add_argument("--profile", action="store_true", help="profile the handler-only run")
    args = parser.parse_args()
    args.state_sample = min(args.state_sample, args.sample)
    rows, profile = asyncio.run(run(args))
    if profile:
        print(profile)
    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
