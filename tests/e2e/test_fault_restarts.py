"""Broker restart and ledger SIGKILL while readings flow: nothing lost, nothing billed twice.

A breaker publishes a state every 40 ms with known registers; in the middle the broker
restarts (SIGTERM, persistence kept) and later the ledger is killed (SIGKILL) and started
again on the same database. An independent QoS 1 observer with a persistent session records
every reading HA got onto the broker. Afterwards the ledger must hold exactly those readings
(each once) and the tenants must owe exactly the registers' difference at 0.30 EUR/kWh,
rounded once.
"""

import asyncio
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
import json
import threading
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from tenant_sim.breakers import SimulatedBreaker
from tenant_sim.mosquitto import MosquittoBroker

from .harness import (
    FLAT_RATE,
    PREFIX,
    Ledger,
    first_state,
    quiet_fleet,
    send,
    state,
    until,
    until_async,
)

pytestmark = pytest.mark.slow

STEP_S = 0.04
FIRST = {"1": 1_000_000, "2": 2_000_000}
PER_STEP = {"1": 100, "2": 37}  # Wh per state message: 0.03 EUR and 0.0111 EUR


class ReadingsObserver:
    """Every (point, ts) on the readings topic, through broker restarts (persistent session)."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.seen: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="e2e-readings-observer", clean_session=False
        )
        self._client.on_connect = lambda client, *_: client.subscribe(f"{PREFIX}/readings", 1)
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port, keepalive=10)
        self._client.loop_start()

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        readings = json.loads(message.payload)["readings"]
        with self._lock:
            self.seen.update((r["point"], r["ts"]) for r in readings)

    def points(self, point: str) -> set[int]:
        with self._lock:
            return {ts for p, ts in self.seen if p == point}

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture(autouse=True)
def fast_mqtt_reconnect() -> Iterator[None]:
    """HA retries a lost broker every 10 s; 1 s keeps the test short."""
    with patch("homeassistant.components.mqtt.client.RECONNECT_INTERVAL_SECONDS", 1):
        yield


@pytest.fixture
def observer(mosquitto: MosquittoBroker) -> Iterator[ReadingsObserver]:
    watcher = ReadingsObserver(mosquitto)
    yield watcher
    watcher.close()


SPACING_S = 10  # device seconds between two state messages


def registers(step: int) -> dict[str, int]:
    return {channel: FIRST[channel] + PER_STEP[channel] * step for channel in FIRST}


def owed(wh: int) -> Decimal:
    return (Decimal(wh) / 1000 * FLAT_RATE).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def test_broker_restart_and_ledger_kill_lose_and_double_nothing(
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
    observer: ReadingsObserver,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=2)
    breaker = fleet.breakers[0]
    points = {channel: f"mqtt:{breaker.device_id}:{channel}" for channel in FIRST}
    await ledger.building({"t101": points["1"], "t102": points["2"]})
    # A week ago, ten device seconds per state message: 100 Wh per state is then 36 kW, within
    # the ledger's plausible power per point (one second apart it would be quarantined).
    base = ledger.now() - 7 * 86_400

    def stamp(step: int) -> int:
        return base + SPACING_S * step

    steps = 0
    running = asyncio.Event()

    async def traffic(target: SimulatedBreaker) -> None:
        nonlocal steps
        while running.is_set():
            steps += 1
            send(target, stamp(steps), registers(steps))
            await asyncio.sleep(STEP_S)

    async def steps_pass(count: int) -> None:
        goal = steps + count
        await until(lambda: steps >= goal, f"{count} more states")

    try:
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: state(hass, "switch.room_101_relay") is not None, "discovery")
        await first_state(hass, breaker, base, registers(0))
        running.set()
        sender = hass.async_create_background_task(traffic(breaker), "e2e traffic")

        await steps_pass(25)
        restarted_at = stamp(steps)
        await hass.async_add_executor_job(mosquitto.restart)
        await until(
            lambda: max(observer.points(points["1"])) > restarted_at, "traffic after restart", 20
        )
        await steps_pass(25)
        await hass.async_add_executor_job(ledger.kill)
        killed = stamp(steps)
        await steps_pass(25)
        revived = stamp(steps)
        await hass.async_add_executor_job(ledger.start)
        await steps_pass(25)
        running.clear()
        await sender
        last = steps + 1
        # The final state is repeated until it is in the ledger (HA may still be reconnecting).

        async def final_stored() -> bool:
            send(breaker, stamp(last), registers(last))
            return stamp(last) in {r["ts"] for r in await ledger.readings(points["1"])}

        await until_async(final_stored, "the final reading in the ledger", 30)
        for point in points.values():
            complete = partial(_stored_equals_seen, ledger, observer, point)
            await until_async(complete, f"all of {point}", 15)
    finally:
        running.clear()
        await hass.async_add_executor_job(fleet.close)

    for channel, point in points.items():
        stored = await ledger.readings(point)
        stamps = [r["ts"] for r in stored]
        assert len(stamps) == len(set(stamps)), "a reading was stored twice"
        assert set(stamps) == observer.points(point)
        assert stamps[0] == base
        assert stamps[-1] == stamp(last)
        # Each stored register is what the breaker sent at that time: no mix-ups.
        for reading in stored:
            assert reading["energy_wh"] == registers((reading["ts"] - base) // SPACING_S)[channel]
        # Readings went missing during the broker restart (QoS 0 states), but registers are
        # cumulative: the bill is the whole difference, once.
        assert len(stamps) > 50
        # What HA sent while the ledger was dead waited at the broker and was stored.
        assert len([ts for ts in stamps if killed < ts <= revived]) >= 20
    used_1 = PER_STEP["1"] * last
    used_2 = PER_STEP["2"] * last
    assert await ledger.balance("t101") == -owed(used_1)
    assert await ledger.balance("t102") == -owed(used_2)
    tenant = await ledger.call("GET", "/api/tenants/t102")
    assert tenant["period_energy_kwh"] == f"{Decimal(used_2) / 1000:.3f}"


async def _stored_equals_seen(ledger: Ledger, observer: ReadingsObserver, point: str) -> bool:
    return {r["ts"] for r in await ledger.readings(point)} == observer.points(point)
