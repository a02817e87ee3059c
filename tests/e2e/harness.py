"""Shared pieces of the fault and scenario tests: a ledger subprocess whose clock the test moves,
HA with the integration on the real broker, and small waiting helpers.

The ledger runs as ``python -m tenant_ledger serve`` would, in its own process, with two test
hooks installed before it starts (see ``_LAUNCH``): its clock is the wall clock plus an offset
read from a file the test writes (``travel()``), and statuses are re-evaluated every
``TICK_SECONDS`` instead of every minute. ``server.py`` has no flag for either.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
import os
from pathlib import Path
import shutil
import subprocess
import sys
import time
from typing import Any

import aiohttp
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
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
from tenant_sim.breakers import BreakerFleet, SimulatedBreaker
from tenant_sim.mosquitto import MosquittoBroker
from tenant_sim.net import LOOPBACK, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = "e2e-fault-token"
PREFIX = "tenant_metering"
TICK_SECONDS = 0.3
FLAT_RATE = Decimal("0.30")
FLAT_TARIFF = {"currency": "EUR", "timezone": "UTC", "energy": {"type": "flat", "rate": "0.30"}}
SINCE = "2020-01-01T00:00:00+00:00"

_LAUNCH = """
import functools, sys, time
from pathlib import Path
from tenant_ledger import server, service
from tenant_ledger.cli import main

offset_file, tick = Path(sys.argv[1]), float(sys.argv[2])

def clock():
    try:
        offset = int(offset_file.read_text(encoding="utf-8") or 0)
    except (FileNotFoundError, ValueError):
        offset = 0
    return time.time_ns() // 1000 + offset * 1_000_000

service.LedgerService.__init__.__defaults__ = (clock,)
server.LedgerConfig = functools.partial(server.LedgerConfig, tick_seconds=tick)
sys.exit(main(sys.argv[3:]))
"""


class Ledger:
    """The ledger service in a subprocess: start, SIGKILL, restart on the same data and port."""

    def __init__(self, work_dir: Path, broker: MosquittoBroker) -> None:
        self.data_dir = work_dir / "ledger"
        self.offset_file = work_dir / "ledger-clock-offset"
        self.log_path = work_dir / "ledger.log"
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.broker = broker
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            sys.executable, "-c", _LAUNCH, str(self.offset_file), str(TICK_SECONDS),
            "serve", "--data-dir", str(self.data_dir), "--port", str(self.port),
            "--mqtt-url", self.broker.url, "--admin-token", TOKEN, "--timezone", "UTC",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, timeout=30)
        except TimeoutError:
            raise RuntimeError(self.log()) from None

    def travel(self, seconds: int) -> None:
        """Move the ledger's clock to wall time + ``seconds`` (takes effect on its next tick)."""
        self.offset_file.write_text(str(seconds), encoding="utf-8")

    def kill(self) -> None:
        """SIGKILL: no clean-up; the broker publishes the ledger's will."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8") if self.log_path.exists() else ""

    async def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, self.url + path, json=body, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as reply,
        ):
            data = await reply.json()
            assert reply.status == expect, (method, path, reply.status, data)
            return data

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


@pytest.fixture
def ledger(tmp_path: Path, mosquitto: MosquittoBroker) -> Iterator[Ledger]:
    """A started ledger subprocess on the test broker, stopped after the test."""
    service = Ledger(tmp_path, mosquitto)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
async def metering(
    hass: HomeAssistant, mqtt_on_broker: None, ledger: Ledger
) -> AsyncIterator[None]:
    """The integration set up against the real broker and ledger: MQTT hub + ledger link."""
    entries = [
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
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    yield
    for entry in reversed(entries):
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@dataclass(frozen=True)
class Blueprints:
    """Loads the arrears cut-off blueprint, one automation per tenant."""

    hass: HomeAssistant
    landlord: list[ServiceCall]

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


@pytest.fixture
async def blueprints(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[Blueprints]:
    """Our blueprints in HA's config dir and a mocked landlord notifier.

    At teardown the automations are turned off, which detaches their time triggers (the
    harness fails tests that leave timers behind).
    """
    target = tmp_path / "config" / "blueprints" / "automation" / "tenant_metering"
    target.mkdir(parents=True)
    for path in (REPO_ROOT / "blueprints" / "automation" / "tenant_metering").glob("*.yaml"):
        shutil.copy(path, target / path.name)
    hass.config.config_dir = str(tmp_path / "config")
    yield Blueprints(hass, async_mock_service(hass, "notify", "landlord"))
    if hass.services.has_service("automation", "turn_off"):
        await hass.services.async_call(
            "automation", "turn_off", {"entity_id": "all"}, blocking=True
        )
        await hass.async_block_till_done()


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


async def until(check: Callable[[], object], what: str, limit_s: float = 15.0) -> None:
    """Poll ``check`` on the event loop until it is true."""
    deadline = time.monotonic() + limit_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def until_async(
    check: Callable[[], Awaitable[object]], what: str, limit_s: float = 15.0
) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def tenant_device(hass: HomeAssistant, tenant_id: str) -> str:
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, f"tenant_{tenant_id}")})
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
