"""Any payload on the readings topic is stored, quarantined or set aside, and acknowledged.

Against a real Mosquitto and the real ledger on SQLite and PostgreSQL: garbage of any size,
depth and encoding never stops the consumer, never fills the broker's in-flight window, is
never delivered again after a restart, and the good readings between it are all stored once.
"""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
import functools
import hashlib
import itertools
import json
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest
import sqlalchemy as sa

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db import point_numbers
from tenant_ledger.db.schema import parked_messages, reading_points, readings
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.readings_in import (
    EXCERPT_CHARS,
    MAX_DEPTH,
    MAX_PAYLOAD_BYTES,
    MAX_POINT_ID,
    MAX_READINGS,
    PayloadError,
    decode_readings,
    excerpt,
)
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker

from .conftest import Api, FakeClock
from .mqtt_probe import MqttProbe

TOPIC = "tenant_metering/readings"
STATUS_TOPIC = "tenant_metering/ledger/status"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC, before the fake clock's now


@dataclass
class Ledger:
    """A ledger on a real broker, restartable with the same data and client id."""

    broker: MosquittoBroker
    config: LedgerConfig
    clock: FakeClock
    service: LedgerService | None = None

    async def start(self) -> LedgerService:
        self.service = LedgerService(self.config, clock=self.clock)
        await self.service.start()
        # "online" follows the subscription: from then on the broker keeps what is published.
        with MqttProbe(self.broker, subscribe=STATUS_TOPIC) as watcher:
            await asyncio.to_thread(watcher.wait_for, STATUS_TOPIC, lambda p: p == b"online")
        return self.service

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()
            self.service = None

    def rows(self) -> tuple[list[tuple[str, int, int]], dict[str, tuple[str, int]]]:
        """Stored readings, and parked messages by sha256 (reason, times)."""
        assert self.service is not None
        with self.service.engine.connect() as connection:
            stored = connection.execute(
                sa.select(
                    reading_points.c.point_id, readings.c.ts, readings.c.energy_wh
                ).select_from(point_numbers.WITH_POINT_IDS)
            ).all()
            parked = connection.execute(
                sa.select(
                    parked_messages.c.sha256, parked_messages.c.reason, parked_messages.c.times
                )
            ).all()
        return (
            [(row.point_id, row.ts, row.energy_wh) for row in stored],
            {row.sha256: (row.reason, row.times) for row in parked},
        )


@pytest.fixture
async def ledger(
    mosquitto: MosquittoBroker,
    make_config: Callable[..., LedgerConfig],
    database_url: str,
    clock: FakeClock,
) -> AsyncIterator[Ledger]:
    config = make_config(
        BrokerSettings(host=mosquitto.host, port=mosquitto.port), database_url=database_url
    )
    ledger = Ledger(mosquitto, config, clock)
    await ledger.start()
    yield ledger
    await ledger.stop()


@pytest.fixture
def probe(mosquitto: MosquittoBroker) -> Iterator[MqttProbe]:
    with MqttProbe(mosquitto) as probe:
        yield probe


async def _until(condition: Callable[[], bool], within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def _acknowledged(service: LedgerService, count: int) -> None:
    try:
        await _until(lambda: service.counters["messages_acknowledged"] >= count)
    except AssertionError:
        raise AssertionError(f"{count} messages not acknowledged: {service.counters}") from None
    assert service.counters["messages_acknowledged"] == count


def _good(point: str, ts: int, energy_wh: int) -> bytes:
    return json.dumps({"readings": [{"point": point, "ts": ts, "energy_wh": energy_wh}]}).encode()


def _sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


async def test_deeply_nested_json_is_set_aside_and_the_readings_after_it_are_stored(
    ledger: Ledger, probe: MqttProbe
) -> None:
    """200 kB of ``[[[[…`` used to raise RecursionError, kill the consumer and come back."""
    assert ledger.service is not None
    deep = b"[" * 200_000
    probe.publish(TOPIC, deep)
    probe.publish(TOPIC, _good("mqtt:dev:1", NOV_5, 1000))
    await _acknowledged(ledger.service, 2)
    stored, parked = ledger.rows()
    assert stored == [("mqtt:dev:1", NOV_5, 1000)]
    assert parked == {_sha(deep): ("invalid_json", 1)}
    assert not ledger.service.ingest_stalled
    async with TestClient(TestServer(create_app(ledger.service))) as client:
        listed = (await Api(client).call("GET", "/api/readings/parked", expect=200))["parked"]
    assert [(item["reason"], item["size_bytes"], item["times"]) for item in listed] == [
        ("invalid_json", 200_000, 1)
    ]
    assert "recursion depth exceeded" in listed[0]["detail"]
    assert listed[0]["excerpt"].startswith("[[[[")


@pytest.mark.parametrize(
    ("point", "reason"),
    [
        ("mqtt:dev\ud800:1", "invalid_json"),  # JSON that is no Unicode text
        ("mqtt:dev\u0000:1", "invalid_point"),
        ("mqtt:dev\u202e:1", "invalid_point"),  # a right-to-left override: not printable
    ],
    ids=["lone-surrogate", "nul", "bidi-override"],
)
async def test_a_thousand_unstorable_point_ids_never_stall_the_good_readings(
    ledger: Ledger, probe: MqttProbe, point: str, reason: str
) -> None:
    """More bad messages than the broker's in-flight window (1,000), then good ones."""
    assert ledger.service is not None
    bad = [
        json.dumps({"readings": [{"point": point, "ts": NOV_5 + i, "energy_wh": i}]}).encode()
        for i in range(1100)
    ]
    for payload in bad:
        probe.publish(TOPIC, payload)
    good = [_good("mqtt:dev:1", NOV_5 + 60 * i, 100 * i) for i in range(5)]
    for payload in good:
        probe.publish(TOPIC, payload)
    await _acknowledged(ledger.service, len(bad) + len(good))
    stored, parked = ledger.rows()
    assert sorted(stored) == [("mqtt:dev:1", NOV_5 + 60 * i, 100 * i) for i in range(5)]
    assert parked == {_sha(payload): (reason, 1) for payload in bad}
    assert ledger.service.counters[f"malformed_{reason}"] == len(bad)


async def test_nothing_poison_is_delivered_again_after_a_restart(
    ledger: Ledger, probe: MqttProbe
) -> None:
    """Poison sent while the ledger is down is handled once; the next start sees none of it."""
    poison = [
        b"[" * 200_000,
        b"\xff\xfe not utf-8",
        b'{"readings":[{"point":"p\\ud800","ts":1793836800,"energy_wh":1}]}',
        b"x" * (MAX_PAYLOAD_BYTES + 1),
    ]
    await ledger.stop()
    for payload in poison:
        probe.publish(TOPIC, payload)
    probe.publish(TOPIC, _good("mqtt:dev:1", NOV_5, 1000))
    first = await ledger.start()
    await _acknowledged(first, len(poison) + 1)
    await ledger.stop()
    second = await ledger.start()
    # Queued messages come first (QoS 1 keeps the order): if anything came back, the count
    # would pass 1 with this reading.
    probe.publish(TOPIC, _good("mqtt:dev:1", NOV_5 + 60, 1100))
    await _acknowledged(second, 1)
    stored, parked = ledger.rows()
    assert sorted(stored) == [("mqtt:dev:1", NOV_5, 1000), ("mqtt:dev:1", NOV_5 + 60, 1100)]
    assert {sha: times for sha, (_reason, times) in parked.items()} == {
        _sha(payload): 1 for payload in poison
    }
    assert parked[_sha(poison[-1])][0] == "too_large"


# -- hypothesis: garbage of every kind between good readings ---------------------------------

_NOT_AN_INT = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.integers(min_value=2**53 + 1, max_value=10**400),  # beyond the range, or any float
    st.integers(max_value=-1),
)
_BAD_FIELD = {
    "point": st.one_of(
        st.text(st.characters(categories=["Cc", "Cs", "Cf", "Co", "Zl", "Zp"]), min_size=1).map(
            lambda bad: f"mqtt:{bad}:1"
        ),
        st.just(""),
        st.text(min_size=201, max_size=400),
        st.integers(),
        st.none(),
    ),
    "ts": st.one_of(_NOT_AN_INT, st.just(0), st.integers(min_value=10**11 + 1)),
    "energy_wh": _NOT_AN_INT,
    "seq": st.one_of(st.floats(), st.text(max_size=5), st.integers(max_value=-1)),
}


@st.composite
def _bad_reading(draw: st.DrawFn) -> bytes:
    """A readings message with exactly one bad field (JSON-escaped, so surrogates get through)."""
    field = draw(st.sampled_from(sorted(_BAD_FIELD)))
    reading: dict[str, Any] = {"point": "mqtt:dev:9", "ts": NOV_5, "energy_wh": 1}
    reading[field] = draw(_BAD_FIELD[field])
    return json.dumps({"readings": [reading]}, default=str).encode()


def _nested(depth: int, opening: str, closing: str) -> bytes:
    return (opening * depth + "1" + closing * depth).encode()


_GARBAGE = st.one_of(
    st.binary(max_size=3000),
    st.text(max_size=300).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.integers(min_value=1, max_value=300_000).map(lambda depth: b"[" * depth),
    st.integers(min_value=1, max_value=5000).map(lambda depth: _nested(depth, "[", "]")),
    st.integers(min_value=1, max_value=5000).map(lambda depth: _nested(depth, '{"readings":', "}")),
    st.just(b"1e999999"),
    st.just(b"9" * 5000),
    st.just(b'{"readings": "' + b"a" * (MAX_PAYLOAD_BYTES + 10) + b'"}'),
    _bad_reading(),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(_GARBAGE, st.booleans()), min_size=1, max_size=8))
async def test_garbage_between_good_readings_is_set_aside_and_every_reading_stored_once(
    ledger: Ledger, probe: MqttProbe, messages: list[tuple[bytes, bool]]
) -> None:
    assert ledger.service is not None
    service = ledger.service
    _stored, parked_before = ledger.rows()
    acknowledged = service.counters["messages_acknowledged"]
    published, expected = [], []
    for garbage, good_follows in messages:
        published.append(garbage)
        if good_follows:
            step = next(_GOOD_STEPS)
            reading = ("mqtt:dev:1", NOV_5 + 60 * step, 10 * step)
            expected.append(reading)
            published.append(_good(*reading))
    for payload in published:
        probe.publish(TOPIC, payload)
    await _acknowledged(service, acknowledged + len(published))
    stored, parked = ledger.rows()
    assert set(expected) <= set(stored)
    assert len(stored) == len(set(stored))
    for garbage, _ in messages:
        assert _sha(garbage) in parked, garbage[:100]
    assert set(parked) - set(parked_before) <= {_sha(garbage) for garbage, _ in messages}
    assert not service.ingest_stalled


_GOOD_STEPS = itertools.count()


# -- the consumer itself ----------------------------------------------------------------------


async def test_the_consumer_outlives_a_bug_in_its_own_loop(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unforeseen exception leaves that batch to the broker and takes the next messages."""
    assert ledger.service is not None
    service = ledger.service
    store = service._store_batch
    calls = 0

    async def first_call_fails(batch: list[Any]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        await store(batch)

    monkeypatch.setattr(service, "_store_batch", first_call_fails)
    acked: list[bytes] = []
    first, second = _good("mqtt:dev:1", NOV_5, 10), _good("mqtt:dev:1", NOV_5 + 60, 20)
    service._from_mqtt(first, functools.partial(acked.append, first))
    await _until(lambda: calls == 1)
    service._from_mqtt(second, functools.partial(acked.append, second))
    await _until(lambda: acked == [second])
    assert not service.ingest_stalled


# -- the decoder alone, with many more examples -----------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.one_of(_GARBAGE, st.binary(max_size=200)))
def test_the_decoder_answers_any_bytes_with_readings_or_a_payload_error(raw: bytes) -> None:
    try:
        decode_readings(raw)
    except PayloadError as err:
        # What is kept for the landlord can be stored by any database and shown as it is.
        for text in (str(err), excerpt(raw)):
            assert text.isprintable()
            assert len(text) <= EXCERPT_CHARS + 1


def test_the_limits_are_exact() -> None:
    reading = {"point": "p", "ts": NOV_5, "energy_wh": 1}
    most = json.dumps({"readings": [reading] * MAX_READINGS}).encode()
    assert len(decode_readings(most)) == MAX_READINGS
    with pytest.raises(PayloadError, match="more than"):
        decode_readings(json.dumps({"readings": [reading] * (MAX_READINGS + 1)}).encode())
    padded = most[:-1] + b" " * (MAX_PAYLOAD_BYTES - len(most)) + b"}"
    assert len(padded) == MAX_PAYLOAD_BYTES
    assert len(decode_readings(padded)) == MAX_READINGS
    with pytest.raises(PayloadError, match="exceeds"):
        decode_readings(padded + b" ")
    deepest = b'{"readings":[],"x":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}"
    assert decode_readings(deepest) == []
    with pytest.raises(PayloadError, match="depth"):
        decode_readings(deepest.replace(b"[]", b"[[]]"))
    point = {"point": "x" * MAX_POINT_ID, "ts": NOV_5, "energy_wh": 1}
    assert decode_readings(json.dumps({"readings": [point]}).encode())[0].point_id == point["point"]
    with pytest.raises(PayloadError, match="point"):
        decode_readings(json.dumps({"readings": [point | {"point": "x" * 201}]}).encode())


@pytest.mark.parametrize("bad", [["p"], {"p": 1}, 7, None, "p\x00", "p/1"])
def test_every_readings_point_is_checked_after_good_ones_of_the_same_point(bad: object) -> None:
    good = {"point": "p", "ts": NOV_5, "energy_wh": 1}
    message = {"readings": [good, good | {"ts": NOV_5 + 60}, good | {"point": bad}]}
    with pytest.raises(PayloadError, match=r"readings\[2\]\.point"):
        decode_readings(json.dumps(message).encode())
