"""A test-side MQTT client: publishes readings and watches what the ledger publishes."""

from collections.abc import Callable
import json
import queue
import time
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tenant_sim.mosquitto import MosquittoBroker


class MqttProbe:
    def __init__(
        self, broker: MosquittoBroker, subscribe: str = "tenant_metering/ledger/#"
    ) -> None:
        self.messages: queue.Queue[tuple[str, bytes, float]] = queue.Queue()
        self.latest: dict[str, bytes] = {}
        self._client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        self._client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, m.payload, time.monotonic())
        )
        self._broker = broker
        self._subscribe = subscribe

    def __enter__(self) -> Self:
        self._client.connect(self._broker.host, self._broker.port)
        self._client.subscribe(self._subscribe, qos=1)
        self._client.loop_start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: Any, qos: int = 1) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self._client.publish(topic, data, qos=qos).wait_for_publish(10)

    def wait_for(
        self, topic: str, accept: Callable[[bytes], bool] = lambda _p: True, timeout: float = 10.0
    ) -> tuple[bytes, float]:
        """The first message on ``topic`` that ``accept``s, and when it arrived (monotonic)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"nothing acceptable on {topic}; last: {self.latest.get(topic)!r}"
                )
            try:
                got_topic, payload, arrived = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            self.latest[got_topic] = payload
            if got_topic == topic and accept(payload):
                return payload, arrived


def readings_payload(point: str, pairs: list[tuple[int, int]]) -> dict[str, Any]:
    return {"readings": [{"point": point, "ts": ts, "energy_wh": wh} for ts, wh in pairs]}
