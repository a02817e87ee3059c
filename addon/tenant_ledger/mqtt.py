"""The ledger's MQTT client: readings in (QoS 1, persistent session), tenant state out (retained).

paho runs its network loop on its own thread; messages are handed to the asyncio loop and
acknowledged only after the database commit that stored them (``manual_ack``), so a crash
between receipt and commit makes the broker deliver them again instead of losing them.
"""

from collections.abc import Callable
from dataclasses import dataclass
import json
import logging
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

_LOGGER = logging.getLogger(__name__)

# The broker keeps the session (subscription and queued readings) for as long as it can.
_SESSION_NEVER_EXPIRES = 0xFFFFFFFF
# How many unacknowledged readings messages the broker may send before waiting for acks.
_RECEIVE_MAXIMUM = 1000

type Ack = Callable[[], None]
type MessageHandler = Callable[[bytes, Ack], None]


@dataclass(frozen=True, kw_only=True)
class BrokerSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> "BrokerSettings":
        """``mqtt://user:password@host:port``."""
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise ValueError(f"expected mqtt://host:port, got {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or 1883,
            username=parts.username,
            password=parts.password,
        )


class LedgerMqtt:
    """One MQTT v5 connection with a fixed client id."""

    def __init__(
        self,
        broker: BrokerSettings,
        prefix: str,
        client_id: str,
        on_readings: MessageHandler,
        *,
        subscribe: bool = True,
    ) -> None:
        """``subscribe=False``: publish only, leaving readings queued at the broker."""
        self.prefix = prefix
        self._subscribe = subscribe
        self._broker = broker
        self._on_readings = on_readings
        self.readings_topic = f"{prefix}/readings"
        self.status_topic = f"{prefix}/ledger/status"
        self.chain_topic = f"{prefix}/ledger/chain"
        self.guard_topic = f"{prefix}/ledger/guard"
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        if broker.username:
            self._client.username_pw_set(broker.username, broker.password)
        self._client.will_set(self.status_topic, "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message

    def start(self) -> None:
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = _SESSION_NEVER_EXPIRES
        properties.ReceiveMaximum = _RECEIVE_MAXIMUM
        self._client.connect_async(
            self._broker.host,
            self._broker.port,
            keepalive=30,
            clean_start=False,
            properties=properties,
        )
        self._client.loop_start()

    def stop(self) -> None:
        """Say offline, disconnect cleanly and stop paho's thread."""
        if self._client.is_connected():
            self._client.publish(self.status_topic, "offline", qos=1, retain=True).wait_for_publish(
                5
            )
        self._client.disconnect()
        self._client.loop_stop()

    def publish_tenant(self, tenant_id: str, state: dict[str, Any]) -> None:
        """Retained tenant state (QoS 1), replacing the previous one at the broker."""
        payload = json.dumps(state, separators=(",", ":"))
        self._client.publish(
            f"{self.prefix}/ledger/tenant/{tenant_id}/state", payload, qos=1, retain=True
        )

    def publish_chain(self, head: dict[str, Any]) -> None:
        """The chain head (``chain_head``), retained (QoS 1): what Home Assistant checks."""
        payload = json.dumps(head, separators=(",", ":"), sort_keys=True)
        self._client.publish(self.chain_topic, payload, qos=1, retain=True)

    def publish_guard(self, guard: dict[str, int]) -> None:
        """The building's cut-off guard, retained (QoS 1): the number Home Assistant shows."""
        payload = json.dumps(guard, separators=(",", ":"), sort_keys=True)
        self._client.publish(self.guard_topic, payload, qos=1, retain=True)

    def publish_leak_state(self, point_id: str, state: dict[str, Any] | None) -> None:
        """A watched point's leak state, retained (QoS 1); None clears it (watch removed)."""
        payload = b"" if state is None else json.dumps(state, separators=(",", ":"))
        self._client.publish(f"{self.prefix}/ledger/alarms/{point_id}", payload, qos=1, retain=True)

    def clear_tenant(self, tenant_id: str) -> None:
        """An empty retained payload: the broker drops the tenant's state (tenant archived)."""
        topic = f"{self.prefix}/ledger/tenant/{tenant_id}/state"
        self._client.publish(topic, b"", qos=1, retain=True)

    def _connected(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            _LOGGER.error("MQTT broker refused the connection: %s", reason)
            return
        _LOGGER.info("connected to MQTT broker %s:%s", self._broker.host, self._broker.port)
        if self._subscribe:
            client.subscribe(self.readings_topic, qos=1)
        client.publish(self.status_topic, "online", qos=1, retain=True)

    def _disconnected(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            _LOGGER.warning("lost the MQTT broker (%s); reconnecting", reason)

    def _message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        mid, qos = message.mid, message.qos

        def ack() -> None:
            client.ack(mid, qos)

        self._on_readings(message.payload, ack)
