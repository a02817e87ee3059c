"""Shared pieces of the end-to-end tests: a ledger subprocess whose clock the test moves, HA
with the integration on the real broker, small waiting helpers, and a timer of a restore's
hops (the fixtures built from them are in ``conftest.py``; ``bench/bench_e2e.py`` uses the
same pieces without pytest).

The ledger runs as ``python -m tenant_ledger serve --now E2E_NOW`` would, in its own process,
so no date in these tests is today's: readings are stamped on the ledger's clock
(``Ledger.now()``). Two test hooks are installed before it starts (see ``_LAUNCH``): its clock
moves by an offset read from a file the test writes (``travel()``), and statuses are
re-evaluated every ``TICK_SECONDS`` instead of every minute. ``server.py`` has no flag for
either.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
import shutil
import statistics
import time
from typing import Any, Self

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, ServiceCall, callback
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.tenant_metering.const import (
    CONF_KIND,
    CONF_PREFIX,
    CONF_TOKEN,
    CONF_URL,
    DOMAIN,
    KIND_LEDGER,
    KIND_MQTT_HUB,
)
from tenant_sim.breakers import BreakerFleet, SimulatedBreaker, SimulatedChannel
from tenant_sim.clock import SimClock
from tenant_sim.ledger_process import LedgerProcess
from tenant_sim.mosquitto import MosquittoBroker
from tests.integration.common import find_device

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-fault-token"
PREFIX = "tenant_metering"
TICK_SECONDS = 0.3
FLAT_RATE = Decimal("0.30")
FLAT_TARIFF = {"currency": "EUR", "timezone": "UTC", "energy": {"type": "flat", "rate": "0.30"}}
SINCE = "2020-01-01T00:00:00+00:00"

E2E_NOW = datetime(2026, 6, 10, 10, tzinfo=UTC)
"""Where the ledger's clock starts: mid-month, so a week back is still the same period."""

_LAUNCH = """
import functools, sys
from pathlib import Path
from tenant_ledger import clock, server
from tenant_ledger.cli import main

offset_file, tick = Path(sys.argv[1]), float(sys.argv[2])
started_at = clock.clock_from

def offset_us():
    try:
        return int(offset_file.read_text(encoding="utf-8") or 0) * 1_000_000
    except (FileNotFoundError, ValueError):
        return 0

def clock_from(start):
    base = started_at(start)
    return lambda: base() + offset_us()

clock.clock_from = clock_from
server.LedgerConfig = functools.partial(server.LedgerConfig, tick_seconds=tick)
sys.exit(main(sys.argv[3:]))
"""


class Ledger(LedgerProcess):
    """The ledger service in a subprocess whose clock the test moves, plus API helpers."""

    def __init__(self, work_dir: Path, broker: MosquittoBroker, *extra: str) -> None:
        """``extra``: more ``serve`` options (the cut-off policy: ``--quiet-hours`` ...)."""
        self.offset_file = work_dir / "ledger-clock-offset"
        self.offset_s = 0
        super().__init__(
            work_dir / "ledger",
            admin_token=TOKEN,
            mqtt_url=broker.url,
            args=["--timezone", "UTC", *extra],
            log_path=work_dir / "ledger.log",
            launcher=["-c", _LAUNCH, str(self.offset_file), str(TICK_SECONDS)],
            clock=SimClock(E2E_NOW),
        )

    def now(self) -> int:
        """The ledger's time, epoch seconds: E2E_NOW + time since the test began + travel."""
        assert self.clock is not None
        return int(self.clock.time()) + self.offset_s

    def travel(self, seconds: int) -> None:
        """Move the ledger's clock ``seconds`` ahead of where it would be (takes effect on its
        next tick); ``travel(0)`` comes back."""
        self.offset_s = seconds
        self.offset_file.write_text(str(seconds), encoding="utf-8")

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        async with self.api() as api:
            return await api.call(method, path, body, expect=expect)

    async def balance(self, tenant_id: str) -> Decimal:
        return Decimal((await self.call("GET", f"/api/tenants/{tenant_id}"))["balance"])

    async def readings(self, point: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/api/readings?point={point}"))["readings"])

    async def building(self, tenants: dict[str, str], **plan: Any) -> None:
        """Flat 0.30 EUR/kWh, one prepaid plan (``plan`` overrides), ``tenant -> point``."""
        await self.call(
            "POST",
            "/api/tariffs/std/versions",
            {"tariff": FLAT_TARIFF, "effective_from": SINCE, "reason": "e2e"},
            expect=201,
        )
        await self.call(
            "POST",
            "/api/plans",
            {"id": "main", "name": "Main", "kind": "prepaid", "tariff": "std", **plan},
            expect=201,
        )
        for tenant_id, point in tenants.items():
            name = f"Tenant {tenant_id.removeprefix('t')}"
            body = {"id": tenant_id, "name": name, "plan": "main"}
            await self.call("POST", "/api/tenants", body, expect=201)
            await self.call("POST", "/api/points", {"id": point, "name": point}, expect=201)
            await self.call(
                "POST",
                f"/api/tenants/{tenant_id}/move-in",
                {"points": [point], "at": SINCE},
                expect=201,
            )


def mqtt_entry(broker: MosquittoBroker) -> MockConfigEntry:
    """HA's MQTT integration on the real broker.

    No birth message: after a reconnect HA publishes it seconds later, possibly after the
    test has unloaded MQTT, which would fail that background task.
    """
    return MockConfigEntry(
        domain="mqtt",
        data={"broker": broker.host, "port": broker.port},
        options={"birth_message": {}},
    )


def metering_entries(ledger: Ledger) -> list[MockConfigEntry]:
    """The integration's MQTT hub and its link to ``ledger``."""
    return [
        MockConfigEntry(
            domain=DOMAIN,
            unique_id=f"mqtt_{DOMAIN}",
            data={CONF_KIND: KIND_MQTT_HUB, CONF_PREFIX: PREFIX},
        ),
        MockConfigEntry(
            domain=DOMAIN,
            unique_id="ledger",
            data={
                CONF_KIND: KIND_LEDGER,
                CONF_URL: ledger.url,
                CONF_TOKEN: TOKEN,
                CONF_PREFIX: PREFIX,
            },
        ),
    ]


async def set_up(hass: HomeAssistant, entries: Iterable[MockConfigEntry]) -> None:
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def unload(hass: HomeAssistant, entries: Iterable[MockConfigEntry]) -> None:
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@dataclass(frozen=True)
class Blueprints:
    """Loads the arrears cut-off blueprint, one automation per tenant."""

    hass: HomeAssistant
    landlord: list[ServiceCall]

    @classmethod
    def install(cls, hass: HomeAssistant, config_dir: Path) -> Self:
        """Our blueprints in HA's config dir (``config_dir``) and a mocked landlord notifier."""
        target = config_dir / "blueprints" / "automation" / "tenant_metering"
        target.mkdir(parents=True)
        for path in (REPO_ROOT / "blueprints" / "automation" / "tenant_metering").glob("*.yaml"):
            shutil.copy(path, target / path.name)
        hass.config.config_dir = str(config_dir)
        return cls(hass, async_mock_service(hass, "notify", "landlord"))

    async def arrears_cutoff(self, tenants: dict[str, dict[str, Any]]) -> None:
        """``tenants``: tenant number ("101") -> extra blueprint inputs (quiet hours...)."""
        configs = [
            {
                "alias": f"cutoff_{number}",
                "use_blueprint": {
                    "path": "tenant_metering/arrears_cutoff.yaml",
                    "input": {
                        "status_sensor": f"sensor.tenant_{number}_status",
                        "balance_sensor": f"sensor.tenant_{number}_balance",
                        "supply_switch": f"switch.tenant_{number}_supply",
                        "notify_service": "notify.landlord",
                        **extra,
                    },
                },
            }
            for number, extra in tenants.items()
        ]
        assert await async_setup_component(self.hass, "automation", {"automation": configs})
        await self.hass.async_block_till_done()
        for number in tenants:
            assert state(self.hass, f"automation.cutoff_{number}") == "on"


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


async def until(
    check: Callable[[], object], what: str, limit_s: float = 15.0, poll_s: float = 0.05
) -> None:
    """Poll ``check`` on the event loop until it is true."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(poll_s)


async def until_async(
    check: Callable[[], Awaitable[object]], what: str, limit_s: float = 15.0
) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def tenant_device(hass: HomeAssistant, tenant_id: str) -> str:
    device = find_device(hass, f"tenant_{tenant_id}")
    assert device is not None, f"no device for tenant {tenant_id}"
    return device.id


def quiet_fleet(broker: MosquittoBroker, channels: int, breakers: int = 1) -> BreakerFleet:
    """Breakers whose loads draw nothing: the test sets every register itself."""
    fleet = BreakerFleet.build(broker.host, broker.port, breakers=breakers, channels=channels)
    for breaker in fleet.breakers:
        for channel in breaker.channels:
            channel.profile = replace(channel.profile, peak_w=0.0)
    return fleet


def send(breaker: SimulatedBreaker, ts: int, registers: dict[str, int]) -> dict[str, Any]:
    """Set registers (channel id -> Wh) and publish one state message stamped ``ts``."""
    for channel in breaker.channels:
        if channel.id in registers:
            channel.energy_wh = registers[channel.id]
    return breaker.step(ts)


async def first_state(
    hass: HomeAssistant, breaker: SimulatedBreaker, ts: int, registers: dict[str, int]
) -> None:
    """Publish until HA has subscribed and shows the first channel's energy.

    HA subscribes to a breaker's topics a moment after its discovery and state messages are
    not retained, so the first one is repeated (same ``ts``: neither HA nor the ledger
    counts a repeated reading twice).
    """
    name = breaker.channels[0].name.lower().replace(" ", "_")
    deadline = time.monotonic() + 15
    while state(hass, f"sensor.{name}_energy") in (None, "unknown", "unavailable"):
        assert time.monotonic() < deadline, "no state reached HA"
        send(breaker, ts, registers)
        await asyncio.sleep(0.2)


def quiet_hours(start_in: timedelta, end_in: timedelta) -> dict[str, str]:
    """Blueprint inputs for quiet hours from now + ``start_in`` to now + ``end_in`` (HA time)."""
    now = dt_util.now()
    return {
        "quiet_start": (now + start_in).strftime("%H:%M:%S"),
        "quiet_end": (now + end_in).strftime("%H:%M:%S"),
    }


@dataclass(frozen=True)
class RestoreHops:
    """One restore, hop by hop, in milliseconds (see ``RestoreTimer``)."""

    decision_ms: float  # top-up service call → ledger → retained state → HA's status sensor
    command_ms: float  # status → blueprint → apply decision → switch.turn_on → MQTT → breaker
    ack_ms: float  # the breaker's ack → HA's relay switch shows it on

    @property
    def restored_ms(self) -> float:
        """Top-up → the breaker's relay on: the supply is back."""
        return self.decision_ms + self.command_ms


class RestoreTimer:
    """Times the hops of a restore from HA's state-change events and the breaker's own stamp
    (``SimulatedChannel.relay_switched_at``), so no polling interval is in the figures."""

    def __init__(self, hass: HomeAssistant, number: str, channel: SimulatedChannel) -> None:
        self.status = f"sensor.tenant_{number}_status"
        self.relay = f"switch.{channel.name.lower().replace(' ', '_')}_relay"
        self.channel = channel
        self._marks: dict[str, float] = {}
        self.stop = async_track_state_change_event(hass, [self.status, self.relay], self._on_change)

    def start(self) -> None:
        """The clock starts: call just before the top-up."""
        self._marks = {"top_up": time.perf_counter()}

    @callback
    def _on_change(self, event: Event[EventStateChangedData]) -> None:
        entity_id, new, now = event.data["entity_id"], event.data["new_state"], time.perf_counter()
        if new is None or "top_up" not in self._marks:
            return
        if entity_id == self.status and new.attributes.get("supply_action") == "restore":
            self._marks.setdefault("decided", now)
        elif entity_id == self.relay and new.state == "on":
            self._marks.setdefault("confirmed", now)

    def _switched(self) -> float | None:
        switched = self.channel.relay_switched_at
        return switched if switched is not None and switched > self._marks["top_up"] else None

    async def hops(self, limit_s: float = 30.0) -> RestoreHops:
        """Wait until HA shows the restored relay; then the hops of this restore."""
        marks = self._marks
        await until(
            lambda: "confirmed" in marks and self._switched() is not None,
            "the restore to reach HA",
            limit_s,
            poll_s=0.01,
        )
        switched = self._switched()
        assert switched is not None
        return RestoreHops(
            decision_ms=(marks["decided"] - marks["top_up"]) * 1000,
            command_ms=(switched - marks["decided"]) * 1000,
            ack_ms=(marks["confirmed"] - switched) * 1000,
        )


async def cut_off_and_restore(
    hass: HomeAssistant, ledger: Ledger, timer: RestoreTimer, device_id: str
) -> RestoreHops:
    """One round: an adjustment puts tenant 101 in arrears and the cut-off blueprint cuts the
    supply; once that run is over (the ledger recorded the cut-off, the automation is idle),
    a ``tenant_metering.top_up`` restores it, timed hop by hop."""
    balance = await ledger.balance("t101")
    await ledger.call(
        "POST",
        "/api/tenants/t101/adjustments",
        {"amount": str(-balance - 1), "reason": "arrears", "actor": "e2e"},
        expect=201,
    )
    await until(lambda: not timer.channel.relay_on, "the cut-off reaching the breaker", poll_s=0.01)
    await until(
        lambda: (
            state(hass, timer.status) == "disconnected"
            and state(hass, "switch.tenant_101_supply") == "off"
            and _automation_idle(hass, "automation.cutoff_101")
        ),
        "the cut-off run to end",
        poll_s=0.01,
    )
    timer.start()
    await hass.services.async_call(
        DOMAIN, "top_up", {"device_id": device_id, "amount": "6.00", "reason": "top-up"}
    )
    return await timer.hops()


def _automation_idle(hass: HomeAssistant, entity_id: str) -> bool:
    current = hass.states.get(entity_id)
    return current is not None and current.attributes.get("current") == 0


def median_hops(rounds: list[RestoreHops]) -> RestoreHops:
    return RestoreHops(
        decision_ms=statistics.median(hop.decision_ms for hop in rounds),
        command_ms=statistics.median(hop.command_ms for hop in rounds),
        ack_ms=statistics.median(hop.ack_ms for hop in rounds),
    )
