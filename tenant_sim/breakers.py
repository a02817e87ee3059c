"""Simulated smart breakers speaking the native MQTT protocol (ARCHITECTURE.md) via paho-mqtt.

Each breaker is its own MQTT connection, as real devices are, with its availability topic as
last will. It announces itself (retained), publishes state on every ``step()``, obeys relay
commands with acks, and during an ``outage()`` keeps metering into a store-and-forward buffer
that it sends as one backlog message when the backhaul returns.

Usable from tests (call ``step()`` yourself, with your own clock) and from the demo or
benchmarks (``BreakerFleet.start_ticking()`` steps every breaker on a background thread).

    with BreakerFleet.build("127.0.0.1", 1883, breakers=5, channels=10) as fleet:
        fleet.step_all()
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
import json
import logging
import threading
import time
from types import TracebackType
from typing import Any, Final, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from tenant_sim.load_profiles import LoadProfile, power_factor, profile_for

_LOGGER = logging.getLogger(__name__)

DEFAULT_PREFIX: Final = "tenant_metering"
NOMINAL_VOLTAGE: Final = 230.0
MAX_BACKLOG: Final = 100_000  # states kept during an outage (11 days at 10 s)


@dataclass(kw_only=True)
class SimulatedChannel:
    """One metered circuit: a cumulative Wh register fed by a load profile."""

    id: str
    name: str
    profile: LoadProfile
    relay: bool = True
    rated_current_a: int = 32
    energy_wh: int = 0
    relay_on: bool = True
    relay_switched_at: float | None = None  # time.perf_counter() of the last command obeyed
    _carry_wh: float = 0.0  # the fraction of a Wh not yet on the integer register

    def advance(self, start: float, end: float) -> float:
        """Meter the load from ``start`` to ``end``; returns the power at ``end``."""
        power = self.profile.power_w(end) if self.relay_on else 0.0
        self._carry_wh += power * max(0.0, end - start) / 3600
        whole = int(self._carry_wh)
        self.energy_wh += whole
        self._carry_wh -= whole
        return power


@dataclass(kw_only=True)
class SimulatedBreaker:
    """A breaker with its channels and its own MQTT connection."""

    device_id: str
    name: str
    channels: list[SimulatedChannel]
    host: str
    port: int
    prefix: str = DEFAULT_PREFIX
    model: str = "SIM-BR"
    clock: Callable[[], float] = time.time
    send_relay_field: bool = True
    ack_commands: bool = True  # False simulates a breaker that never answers
    seq: int = 0
    backlog: list[dict[str, Any]] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    _client: mqtt.Client | None = None
    _last_step: float | None = None
    _online: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_topic(self) -> str:
        return f"{self.prefix}/{self.device_id}"

    @property
    def discovery_topic(self) -> str:
        return f"{self.prefix}/discovery/{self.device_id}/config"

    def announcement(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "device_id": self.device_id,
            "name": self.name,
            "manufacturer": "Tenant Metering Simulator",
            "model": self.model,
            "sw_version": "1.0.0",
            "base_topic": self.base_topic,
            "channels": [
                {
                    "id": c.id,
                    "name": c.name,
                    "relay": c.relay,
                    "rated_current_a": c.rated_current_a,
                }
                for c in self.channels
            ],
        }

    # -- connection ------------------------------------------------------------------------

    def connect(self, timeout: float = 10.0) -> None:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"sim-breaker-{self.device_id}",
            protocol=mqtt.MQTTv5,
        )
        client.will_set(f"{self.base_topic}/availability", "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.on_disconnect = lambda *_args: self.connected.clear()
        self._client = client
        client.connect(self.host, self.port, keepalive=30)
        client.loop_start()
        if not self.connected.wait(timeout):
            raise TimeoutError(f"breaker {self.device_id} could not connect to the broker")

    def _on_connect(self, client: mqtt.Client, *_args: Any) -> None:
        client.subscribe(f"{self.base_topic}/command", qos=1)
        client.publish(self.discovery_topic, json.dumps(self.announcement()), qos=1, retain=True)
        client.publish(f"{self.base_topic}/availability", "online", qos=1, retain=True)
        with self._lock:
            self._online = True
            backlog, self.backlog = self.backlog, []
        if backlog:
            client.publish(f"{self.base_topic}/backlog", json.dumps({"readings": backlog}), qos=1)
        self.connected.set()

    def disconnect(self) -> None:
        """Leave cleanly (no last will): the device is switched off on purpose."""
        if self._client is None:
            return
        self._client.publish(f"{self.base_topic}/availability", "offline", qos=1, retain=True)
        self._client.disconnect()
        self._client.loop_stop()
        self._client = None
        self._online = False

    def outage(self) -> None:
        """Lose the backhaul: the broker publishes our last will; readings go to the backlog."""
        if self._client is None:
            return
        with self._lock:
            self._online = False
        # MQTT 5 reason 0x04 asks the broker to publish the will, as on a lost connection.
        self._client.disconnect(
            reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
        )
        self._client.loop_stop()
        self._client = None

    def restore(self, timeout: float = 10.0) -> None:
        """Backhaul back: reconnect, announce, send the backlog."""
        self.connect(timeout)

    def remove(self) -> None:
        """Retract the announcement (empty retained config) and disconnect."""
        if self._client is not None:
            self._client.publish(self.discovery_topic, "", qos=1, retain=True).wait_for_publish(5)
        self.disconnect()

    # -- behaviour -------------------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            command = json.loads(msg.payload)
            command_id = str(command["id"])
            channel_id = str(command["channel"])
            relay = command["relay"]
        except (ValueError, KeyError, TypeError):
            _LOGGER.warning("breaker %s: unreadable command %r", self.device_id, msg.payload)
            return
        channel = next((c for c in self.channels if c.id == channel_id), None)
        ack: dict[str, Any]
        if channel is None or not channel.relay or relay not in ("on", "off"):
            ack = {"id": command_id, "ok": False, "error": "no such relay"}
        else:
            with self._lock:
                channel.relay_on = relay == "on"
                channel.relay_switched_at = time.perf_counter()
            ack = {"id": command_id, "ok": True, "relay": relay}
        if self.ack_commands:
            client.publish(f"{self.base_topic}/ack", json.dumps(ack), qos=1)

    def step(self, now: float | None = None) -> dict[str, Any]:
        """Meter up to ``now`` and publish a state message (or buffer it while offline)."""
        now = self.clock() if now is None else now
        with self._lock:
            start = now if self._last_step is None else self._last_step
            self._last_step = now
            self.seq += 1
            channels: dict[str, Any] = {}
            for channel in self.channels:
                power = channel.advance(start, now)
                current = power / NOMINAL_VOLTAGE
                fields: dict[str, Any] = {
                    "voltage": round(NOMINAL_VOLTAGE + (self.seq % 7 - 3) * 0.4, 1),
                    "current": round(current, 2),
                    "power": round(power, 1),
                    "power_factor": power_factor(power),
                    "frequency": 50.0,
                    "energy_wh": channel.energy_wh,
                }
                if self.send_relay_field and channel.relay:
                    fields["relay"] = "on" if channel.relay_on else "off"
                channels[channel.id] = fields
            message = {"ts": int(now), "seq": self.seq, "channels": channels}
            online = self._online and self._client is not None
            if not online:
                self.backlog.append(message)
                del self.backlog[:-MAX_BACKLOG]
        if online and self._client is not None:
            self._client.publish(f"{self.base_topic}/state", json.dumps(message), qos=0)
        return message


class BreakerFleet:
    """N simulated breakers of M channels each, connected to one broker."""

    def __init__(self, breakers: list[SimulatedBreaker]) -> None:
        self.breakers = breakers
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def build(
        cls,
        host: str,
        port: int,
        *,
        breakers: int = 2,
        channels: int = 4,
        prefix: str = DEFAULT_PREFIX,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
        start_wh: int = 1_000_000,
    ) -> Self:
        """A building: breaker ``b`` is floor ``b + 1``, channel ``c`` room ``(b+1)0(c+1)``."""
        return cls(
            [
                SimulatedBreaker(
                    device_id=f"sim{seed:02d}{b:04d}",
                    name=f"Floor {b + 1} DB",
                    host=host,
                    port=port,
                    prefix=prefix,
                    clock=clock,
                    channels=[
                        SimulatedChannel(
                            id=str(c + 1),
                            name=f"Room {b + 1}{c + 1:02d}",
                            profile=profile_for(b * channels + c, seed),
                            energy_wh=start_wh + 997 * (b * channels + c),
                        )
                        for c in range(channels)
                    ],
                )
                for b in range(breakers)
            ]
        )

    def connect(self) -> None:
        for breaker in self.breakers:
            breaker.connect()

    def step_all(self, now: float | None = None) -> None:
        for breaker in self.breakers:
            breaker.step(now)

    def start_ticking(self, interval: float = 10.0) -> None:
        """Step every breaker every ``interval`` seconds on a background thread."""

        def _tick() -> None:
            while not self._stop.wait(interval):
                self.step_all()

        self._stop.clear()
        self._ticker = threading.Thread(target=_tick, name="breaker-fleet", daemon=True)
        self._ticker.start()

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        for breaker in self.breakers:
            breaker.disconnect()

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def running_fleet(host: str, port: int, **kwargs: Any) -> Iterator[BreakerFleet]:
    """``BreakerFleet.build(...)`` connected for the duration of a ``with`` block."""
    with BreakerFleet.build(host, port, **kwargs) as fleet:
        yield fleet
