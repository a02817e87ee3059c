"""Readings in and tenant state out through a real Mosquitto broker."""

import asyncio
from collections.abc import AsyncIterator, Callable
import json
import time
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
import pytest

from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.mqtt import BrokerSettings
from tenant_ledger.service import LedgerService
from tenant_sim.mosquitto import MosquittoBroker

from .conftest import Api, FakeClock
from .mqtt_probe import MqttProbe, readings_payload

POINT = "mqtt:a4cf12ab34cd:1"
NOV_5 = 1_793_836_800
STATE_TOPIC = "tenant_metering/ledger/tenant/t1/state"
STATUS_TOPIC = "tenant_metering/ledger/status"


@pytest.fixture
async def mqtt_ledger(
    mosquitto: MosquittoBroker, make_config: Callable[..., LedgerConfig], clock: FakeClock
) -> AsyncIterator[tuple[LedgerService, Api]]:
    broker = BrokerSettings(host=mosquitto.host, port=mosquitto.port)
    service = LedgerService(make_config(broker), clock=clock)
    await service.start()
    async with TestClient(TestServer(create_app(service, check_answers=True))) as client:
        yield service, Api(client)
    await service.stop()


async def _until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


async def _wait(
    probe: MqttProbe, topic: str, accept: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    payload, _ = await asyncio.to_thread(
        probe.wait_for, topic, lambda raw: bool(raw) and accept(json.loads(raw))
    )
    state: dict[str, Any] = json.loads(payload)
    return state


async def test_readings_over_mqtt_are_rated_and_state_is_published_retained(
    mosquitto: MosquittoBroker, mqtt_ledger: tuple[LedgerService, Api]
) -> None:
    _service, api = mqtt_ledger
    await api.building(tenants={"t1": POINT})
    with MqttProbe(mosquitto) as probe:
        await asyncio.to_thread(probe.wait_for, STATUS_TOPIC, lambda p: p == b"online")
        probe.publish(
            "tenant_metering/readings", readings_payload(POINT, [(NOV_5, 0), (NOV_5 + 600, 5000)])
        )
        state = await _wait(probe, STATE_TOPIC, lambda s: s["period_energy_kwh"] == "5.000")
    assert state["balance"] == "-1.50"
    # A newcomer gets the retained state at once.
    with MqttProbe(mosquitto) as late:
        retained = await _wait(late, STATE_TOPIC, lambda _s: True)
    assert retained["balance"] == "-1.50"


async def test_malformed_messages_are_counted_and_the_consumer_keeps_going(
    mosquitto: MosquittoBroker, mqtt_ledger: tuple[LedgerService, Api]
) -> None:
    service, api = mqtt_ledger
    await api.building(tenants={"t1": POINT})
    with MqttProbe(mosquitto) as probe:
        await asyncio.to_thread(probe.wait_for, STATUS_TOPIC, lambda p: p == b"online")
        for bad in (
            b"not json",
            b"[]",
            b'{"readings":[{"point":"x","ts":1,"energy_wh":0.5}]}',
            b"{}",
        ):
            probe.publish("tenant_metering/readings", bad)
        probe.publish(
            "tenant_metering/readings", readings_payload(POINT, [(NOV_5, 0), (NOV_5 + 60, 1000)])
        )
        await _wait(probe, STATE_TOPIC, lambda s: s["period_energy_kwh"] == "1.000")
    assert service.counters["malformed_invalid_json"] == 1
    assert service.counters["malformed_not_readings"] == 2
    assert service.counters["malformed_invalid_energy_wh"] == 1


async def test_a_top_up_reaches_the_broker_within_200_ms(
    mosquitto: MosquittoBroker, mqtt_ledger: tuple[LedgerService, Api]
) -> None:
    _service, api = mqtt_ledger
    await api.building(tenants={"t1": POINT})
    with MqttProbe(mosquitto) as probe:
        await _wait(probe, STATE_TOPIC, lambda _s: True)
        started = time.monotonic()
        await api.call(
            "POST", "/api/tenants/t1/topups", {"amount": "20.00", "reason": "cash"}, expect=201
        )
        _payload, arrived = await asyncio.to_thread(
            probe.wait_for, STATE_TOPIC, lambda raw: json.loads(raw)["balance"] == "20.00"
        )
    assert arrived - started < 0.2


async def test_readings_sent_while_the_ledger_is_down_arrive_after_restart(
    mosquitto: MosquittoBroker, make_config: Callable[..., LedgerConfig], clock: FakeClock
) -> None:
    config = make_config(BrokerSettings(host=mosquitto.host, port=mosquitto.port))
    first = LedgerService(config, clock=clock)
    await first.start()
    async with TestClient(TestServer(create_app(first, check_answers=True))) as client:
        await Api(client).building(tenants={"t1": POINT})
    await _until(lambda: first.mqtt is not None and first.mqtt._client.is_connected())
    await first.stop()
    with MqttProbe(mosquitto) as probe:
        assert (await asyncio.to_thread(probe.wait_for, STATUS_TOPIC))[0] == b"offline"
        probe.publish(
            "tenant_metering/readings", readings_payload(POINT, [(NOV_5, 0), (NOV_5 + 600, 2000)])
        )
        mosquitto.restart()  # the broker's own restart keeps the queued session too
    second = LedgerService(config, clock=clock)
    await second.start()
    try:
        await _until(lambda: second.states["t1"]["period_energy_kwh"] == "2.000")
    finally:
        await second.stop()
