"""``scripts/demo --simulate-month``: a month of the hostel at high speed, then its statements.

No Home Assistant: the readings the integration would forward (hourly registers of every
point, with their timestamps) go straight to the ledger over MQTT, the ledger issues the
month's statements (``POST /api/statements/run``), and the table printed is what its API
returns, so the figures are the ledger's own.
"""

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
import json
from pathlib import Path
import secrets
import sys
import time
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tenant_sim.building import PREFIX, TIMEZONE, Building
from tenant_sim.clock import SimClock
from tenant_sim.history import hourly_readings
from tenant_sim.ledger_api import LedgerApi, readings_body
from tenant_sim.ledger_process import LedgerProcess, building_args
from tenant_sim.mosquitto import MosquittoBroker
from tenant_sim.net import LOOPBACK
from tenant_sim.progress import Progress
from tenant_sim.registers import BuildingRegisters
from tenant_sim.seed import seed

STORE_TIMEOUT = 300.0
MIN_YEAR = 2000
STATEMENTS_DUE_AFTER = timedelta(hours=2)


@dataclass(frozen=True, kw_only=True)
class MonthServices:
    broker: MosquittoBroker
    ledger: LedgerProcess
    api: LedgerApi


@asynccontextmanager
async def month_services(
    data_dir: Path, progress: Progress, ledger_clock: SimClock
) -> AsyncIterator[MonthServices]:
    """A broker and a fresh ledger on free ports, for one simulated month; both are stopped
    on every way out (done, failed, Ctrl-C, SIGTERM)."""
    broker = MosquittoBroker(data_dir / "mosquitto")
    token = secrets.token_urlsafe(24)
    ledger = LedgerProcess(
        data_dir / "ledger",
        mqtt_url=broker.url,
        admin_token=token,
        args=building_args(),
        clock=ledger_clock,
    )
    try:
        await progress.step(f"Mosquitto on {broker.url}", asyncio.to_thread(broker.start))
        await progress.step(f"ledger on {ledger.url}", asyncio.to_thread(ledger.start))
        async with ledger.api() as api:
            yield MonthServices(broker=broker, ledger=ledger, api=api)
    finally:
        await asyncio.to_thread(ledger.stop)
        await asyncio.to_thread(broker.stop)


class MonthError(ValueError):
    """A month that cannot be simulated; the message is one line for the user."""


def month_bounds(month: str | None, now: datetime) -> tuple[datetime, datetime]:
    """Local midnight of the month's 1st and of the next month's 1st (default: last month).

    Only a month that has ended by ``now`` can be simulated: its statements are due.
    """
    zone = ZoneInfo(TIMEZONE)
    this_month = now.astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if month is None:
        start = (this_month - timedelta(days=1)).replace(day=1)
    else:
        try:
            start = datetime.strptime(month, "%Y-%m").replace(tzinfo=zone)
        except ValueError:
            raise MonthError(
                f"--month {month!r} is not a month; use YYYY-MM, e.g. 2026-10"
            ) from None
        if start.year < MIN_YEAR:
            raise MonthError(f"--month {month}: simulate a month from {MIN_YEAR} on")
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if start >= this_month:
        latest = (this_month - timedelta(days=1)).strftime("%Y-%m")
        raise MonthError(
            f"--month {start:%Y-%m} has not ended yet (today is {now.astimezone(zone):%Y-%m-%d}"
            f"); the latest month to simulate is {latest}"
        )
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def statements_due_clock(end: datetime) -> SimClock:
    """The ledger's clock for a simulated month: the next month's 1st at 02:00 local, when
    that month's statements are due and its last readings (one hour past the end) are in."""
    return SimClock(end + STATEMENTS_DUE_AFTER)


async def run_month(
    services: MonthServices, building: Building, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Seed, send the month's readings over MQTT, issue statements; returns them (API JSON)."""
    api = services.api
    await seed(api, building, move_in=start)
    registers = BuildingRegisters(building, int(start.timestamp()), step_s=300)
    # One reading past the month's end, so the last hour is closed.
    messages = [
        json.dumps(readings_body(hour))
        for hour in hourly_readings(registers, int(end.timestamp()) + 3600)
    ]
    expected = sum(len(json.loads(message)["readings"]) for message in messages)
    await asyncio.to_thread(_publish, services.broker.port, messages)
    await _wait_stored(api, expected)
    await api.call("POST", "/api/statements/run")
    ids = []
    for tenant in building.tenants:
        listed = await api.call("GET", f"/api/tenants/{tenant.tenant_id}/statements")
        ids += [
            item["id"]
            for item in listed["statements"]
            if datetime.fromisoformat(item["period_start"]) == start
        ]
    return [await api.call("GET", f"/api/statements/{i}") for i in ids]


def _publish(port: int, messages: Sequence[str]) -> None:
    """QoS 1, as the integration publishes; waits until the broker has every message."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="demo-month-readings")
    client.connect(LOOPBACK, port)
    client.loop_start()
    try:
        infos = [client.publish(f"{PREFIX}/readings", m, qos=1) for m in messages]
        for info in infos:
            info.wait_for_publish(timeout=30)
    finally:
        client.disconnect()
        client.loop_stop()


async def _wait_stored(api: LedgerApi, expected: int) -> None:
    """Until the ledger has stored every reading; fails at once if it set some aside."""
    deadline = time.monotonic() + STORE_TIMEOUT
    while True:
        counters = await api.counters()
        stored = counters.get("readings_stored", 0)
        if stored >= expected:
            return
        refused = counters.get("readings_quarantined", 0) + counters.get("readings_parked", 0)
        if refused and stored + refused >= expected:
            raise RuntimeError(
                f"the ledger stored {stored} of {expected} readings and set {refused} aside "
                "(GET /api/readings/quarantine says why)"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"the ledger stored {stored} of {expected} readings")
        await asyncio.sleep(0.5)


def _sum(amounts: Iterable[str]) -> str:
    return str(sum((Decimal(amount) for amount in amounts), Decimal(0)))


def water_m3(document: dict[str, Any]) -> str:
    """The water the statement bills (its water section's usage), 0 without one."""
    usage = [s["usage"] for s in document.get("sections", ()) if s["resource"] == "water"]
    return _sum(usage) if usage else "0.000"


def statement_table(statements: Sequence[dict[str, Any]], building: Building) -> str:
    """The statements as a fixed-width table with a totals row (electricity in kWh, water in
    m³; energy is every usage line's amount)."""
    header = ("tenant", "name", "plan", "kWh", "m³", "energy", "standing", "net", "tax", "total")
    rows = []
    for document in statements:
        tenant = building.tenant(document["tenant_id"])
        lines = document["lines"]
        rows.append(
            (
                tenant.tenant_id,
                tenant.name,
                tenant.plan_id,
                document["energy_kwh"],
                water_m3(document),
                _sum(line["amount"] for line in lines if line["kind"] == "energy"),
                _sum(line["amount"] for line in lines if line["kind"] != "energy"),
                document["net"],
                document["tax"],
                document["total"],
            )
        )
    sums = [_sum(row[i] for row in rows) for i in range(3, len(header))]
    totals = ("all", f"{len(rows)} tenants", "", *sums)
    widths = [max(len(row[i]) for row in (header, *rows, totals)) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [
            str(cell).ljust(width) if i < 3 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows), rule, line(totals)])


async def simulate_month(
    data_dir: Path, building: Building, *, start: datetime, end: datetime, out: TextIO = sys.stdout
) -> int:
    """The ``--simulate-month`` command for the month from ``start`` to ``end`` (see
    ``month_bounds``); 0 when every tenant got its statement."""
    progress = Progress(out)
    progress.say(f"Simulating {building.name} for {start:%B %Y} ({TIMEZONE}) at high speed")
    async with month_services(data_dir / "month", progress, statements_due_clock(end)) as services:
        statements = await progress.step(
            f"{start:%B} metered hourly, sent over MQTT, statements issued",
            run_month(services, building, start, end),
        )
        currency = building.tariff["currency"]
        progress.say(f"\nStatements for {start:%Y-%m-%d} to {end:%Y-%m-%d} ({currency}):\n")
        progress.say(statement_table(statements, building))
        progress.say(
            f"\nEvery figure is the ledger's own (GET /api/statements/<id>); the ledger's "
            f"data is in {data_dir / 'month'}."
        )
    if len(statements) != len(building.tenants):
        progress.say(
            f"Only {len(statements)} of {len(building.tenants)} tenants got a statement; "
            f"the ledger's log is in {data_dir / 'month' / 'ledger' / 'ledger.log'}."
        )
        return 1
    return 0
