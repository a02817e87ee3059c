"""1,000 malformed MQTT payloads and a counter reset: nothing crashes, nothing is billed wrongly.

Garbage goes to the breaker's state, backlog and discovery topics (read by HA) and to the
ledger's readings topic, between valid states of a breaker whose register is reset to zero
half-way. Every malformed value is chosen so that accepting it would change the bill. The
tenant must owe exactly what the valid registers say, computed here by hand.
"""

from collections.abc import Callable
import json
import logging
import random
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF
from homeassistant.core import HomeAssistant
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest

from tenant_sim.mosquitto import MosquittoBroker

from .harness import (
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

PAYLOADS = 1000


# Register values of the wrong type or sign, that would change the bill if taken.
MALFORMED_VALUES: list[Any] = [
    -1,
    -(10**6),
    1e308,
    float("nan"),
    float("inf"),
    "99999999",
    "abc",
    None,
    True,
    [1],
    {"wh": 1},
    1_002_000.5,
]
# Well-typed but impossible: registers far beyond what a 32 A circuit can meter.
IMPLAUSIBLE_VALUES: list[Any] = [10**30, 2**63, 215_999_102_110_901]


def _state_bodies(rng: random.Random, ts: int, values: list[Any]) -> list[Any]:
    bad = rng.choice(values)
    channel = {"voltage": "x", "power": float("nan"), "energy_wh": bad, "relay": 7}
    return [
        {"ts": ts, "seq": 1, "channels": {"1": channel}},
        {"ts": ts, "channels": {"1": {"energy_wh": bad}}},
        {"ts": str(ts), "channels": {"1": {"energy_wh": 99_999_999}}},
        {"ts": float("nan"), "channels": {"1": {"energy_wh": 99_999_999}}},
        {"ts": ts, "seq": "seven", "channels": {"1": {"energy_wh": bad}}},
        {"ts": ts, "channels": [{"energy_wh": 99_999_999}]},
        {"ts": ts, "channels": {"1": [99_999_999]}},
        {"ts": ts, "channels": {"1": {"power": 5000}}},
        {"channels": {"1": {"energy_wh": 99_999_999}}},
        {"ts": ts},
        {"ts": -ts, "channels": {"1": {"energy_wh": 99_999_999}}},
        [],
        "state",
        12,
        None,
    ]


def _reading_bodies(rng: random.Random, point: str, ts: int, values: list[Any]) -> list[Any]:
    bad = rng.choice(values)
    return [
        {"readings": [{"point": point, "ts": ts, "energy_wh": bad}]},
        {"readings": [{"point": point, "ts": str(ts), "energy_wh": 99_999_999}]},
        {"readings": [{"point": point, "ts": float("nan"), "energy_wh": 99_999_999}]},
        {"readings": [{"point": point, "energy_wh": 99_999_999}]},
        {"readings": [{"ts": ts, "energy_wh": 99_999_999}]},
        {"readings": [{"point": point, "ts": ts}]},
        {"readings": [{"point": 101, "ts": ts, "energy_wh": 99_999_999}]},
        {"readings": {"point": point, "ts": ts, "energy_wh": 99_999_999}},
        {"readings": "all of them"},
        {"readings": [[point, ts, 99_999_999]]},
        {"point": point, "ts": ts, "energy_wh": 99_999_999},
        [],
        None,
    ]


def _discovery_bodies(device_id: str, base_topic: str) -> list[Any]:
    return [
        {"schema": 1, "device_id": device_id, "base_topic": base_topic, "channels": "1,2"},
        {"schema": 1, "device_id": device_id, "base_topic": base_topic, "channels": [7]},
        {"schema": 1, "device_id": device_id, "base_topic": base_topic, "channels": [{}]},
        {"schema": "1", "device_id": device_id, "channels": None},
        {"schema": 1, "device_id": 42, "base_topic": None, "channels": []},
        {"device_id": device_id},
        [device_id],
        "config",
    ]


def _encode(body: Any, rng: random.Random) -> bytes:
    if rng.random() < 0.15:  # random bytes, never empty (empty discovery = removal)
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if rng.random() < 0.05:  # truncated JSON
        text = json.dumps(body)
        return text[: max(1, len(text) // 2)].encode()
    return json.dumps(body).encode()  # NaN / Infinity as Python's json writes them


def malformed(
    rng: random.Random,
    device_id: str,
    point: str,
    ts_range: tuple[int, int],
    count: int,
    values: list[Any],
) -> list[tuple[str, bytes]]:
    """``count`` (topic, payload) pairs across the four topics, timestamps inside the run."""
    base_topic = f"{PREFIX}/{device_id}"
    topics: list[tuple[str, Callable[[int], list[Any]]]] = [
        (f"{base_topic}/state", lambda ts: _state_bodies(rng, ts, values)),
        (
            f"{base_topic}/backlog",
            lambda ts: (
                [{"readings": [body]} for body in _state_bodies(rng, ts, values)]
                + [{"readings": None}, {"readings": "x"}, {}]
            ),
        ),
        (
            f"{PREFIX}/discovery/{device_id}/config",
            lambda _ts: _discovery_bodies(device_id, base_topic),
        ),
        (f"{PREFIX}/readings", lambda ts: _reading_bodies(rng, point, ts, values)),
    ]
    messages = []
    for number in range(count):
        topic, bodies = topics[number % len(topics)]
        ts = rng.randrange(*ts_range)
        messages.append((topic, _encode(rng.choice(bodies(ts)), rng)))
    return messages


def implausible(device_id: str, point: str, ts: int) -> list[tuple[str, bytes]]:
    """Well-typed states and readings with impossible registers, stamped around ``ts``."""
    messages = []
    for offset, value in enumerate(IMPLAUSIBLE_VALUES):
        state_body = {"ts": ts + 2 * offset, "channels": {"1": {"energy_wh": value}}}
        reading = {"point": point, "ts": ts + 2 * offset + 1, "energy_wh": value}
        messages.append((f"{PREFIX}/{device_id}/state", json.dumps(state_body).encode()))
        messages.append((f"{PREFIX}/readings", json.dumps({"readings": [reading]}).encode()))
    # A clock 3 trillion years ahead: if taken as the newest state, it hides every real one.
    far_future = {"ts": 10**20, "channels": {"1": {"energy_wh": 99_999_999}}}
    messages.append((f"{PREFIX}/{device_id}/state", json.dumps(far_future).encode()))
    return messages


def publish_all(broker: MosquittoBroker, messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="e2e-garbage")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("malformed", id=f"{PAYLOADS} malformed"),
        pytest.param("implausible", id="implausible registers"),
    ],
)
async def test_malformed_payloads_and_a_counter_reset_bill_exactly_the_valid_registers(
    kind: str,
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=1)
    breaker = fleet.breakers[0]
    point = f"mqtt:{breaker.device_id}:1"
    await ledger.building({"t101": point})
    rng = random.Random(9)
    t0 = ledger.now() - 3 * 3600
    # Valid registers: +2 kWh, reset to 0 (the interval gets the new 500 Wh), +1 kWh, +0.1 kWh.
    valid = [(t0, 1_000_000), (t0 + 1800, 1_002_000), (t0 + 3600, 500), (t0 + 5400, 1_500)]
    final = (t0 + 7200, 1_600)
    used_wh = 2000 + 500 + 1000 + 100
    try:
        await hass.async_add_executor_job(fleet.connect)
        await until(lambda: state(hass, "switch.room_101_relay") is not None, "discovery")
        await first_state(hass, breaker, *valid[0][:1], {"1": valid[0][1]})
        batches = [PAYLOADS - 2 * (PAYLOADS // 3), PAYLOADS // 3, PAYLOADS // 3]
        for (ts, wh), batch in zip(valid[1:], batches, strict=True):
            send(breaker, ts, {"1": wh})
            if kind == "malformed":
                window = (t0, final[0])
                garbage = malformed(rng, breaker.device_id, point, window, batch, MALFORMED_VALUES)
            else:
                garbage = implausible(breaker.device_id, point, ts - 900)
            await hass.async_add_executor_job(publish_all, mosquitto, garbage)
        send(breaker, *final[:1], {"1": final[1]})

        # HA still works: the latest register, a relay command and its ack.
        await until(lambda: state(hass, "sensor.room_101_energy") == "1.6", "the last state", 5)
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: "switch.room_101_relay"}, blocking=True
        )
        await until(lambda: not breaker.channels[0].relay_on, "the relay command")
        assert state(hass, "switch.room_101_relay") == "off"

        # The ledger still ingests and bills exactly the valid registers (0.30 EUR/kWh).
        async def final_stored() -> bool:
            return final[0] in {r["ts"] for r in await ledger.readings(point)}

        await until_async(final_stored, "the final reading in the ledger")
        stored = [(r["ts"], r["energy_wh"]) for r in await ledger.readings(point)]
        assert stored == [*valid, final]
        tenant = await ledger.call("GET", "/api/tenants/t101")
        assert tenant["period_energy_kwh"] == f"{used_wh / 1000:.3f}"
        assert tenant["balance"] == "-1.08"  # 3.6 kWh x 0.30
        await until(lambda: state(hass, "sensor.tenant_101_balance") == "-1.08", "HA balance")
        assert ledger.process is not None
        assert ledger.process.poll() is None
    finally:
        await hass.async_add_executor_job(fleet.close)
    errors = [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.name.startswith("custom_components")
    ]
    assert not errors, [record.getMessage() for record in errors]
