"""Smoke tests of ``scripts/demo``: the real command, its real services, checked over their APIs.

Home Assistant's part is in ``test_demo_home_assistant.py`` (marked slow).
"""

import asyncio
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
import secrets
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest

from tenant_sim.building import TIMEZONE, hostel
from tenant_sim.clock import SimClock
from tenant_sim.ledger_api import LedgerApi
from tenant_sim.ledger_process import LedgerProcess, building_args
from tenant_sim.registers import BuildingRegisters
from tests.demo.demo_run import DemoRun
from tests.demo.tenant_portal import tenant_sees_only_their_portal

BUILDING = hostel()
# The demo runs "at" a fixed instant (and its ledger with it), so no date here is today's.
DEMO_NOW = "2026-10-20T12:00:00+01:00"
AFTER_OCTOBER = "2026-11-15T10:00:00+00:00"


@pytest.fixture
def live_demo(tmp_path: Path, socket_enabled: None) -> Iterator[DemoRun]:
    """The live demo without Home Assistant, readings every second, on free ports."""
    run = DemoRun(
        tmp_path,
        *("--no-ha", "--interval", "1", "--mqtt-port", "0", "--ledger-port", "0"),
        *("--tenant-portal-port", "0"),
        *("--now", DEMO_NOW),
    )
    try:
        run.wait_for("Press Ctrl-C", timeout=90)
        yield run
    finally:
        run.stop()


async def test_live_demo_seeds_the_hostel_and_meters_it(live_demo: DemoRun) -> None:
    summary = live_demo.summary()
    async with LedgerApi(summary["ledger_url"], summary["ledger_admin_token"]) as ledger_api:
        tenants = {t["tenant_id"]: t for t in await ledger_api.tenants()}

        assert {t: s["name"] for t, s in tenants.items()} == {
            t.tenant_id: t.name for t in BUILDING.tenants
        }
        assert {t: s["plan"] for t, s in tenants.items()} == {
            t.tenant_id: "postpaid" if t.plan_id == "postpaid" else "prepaid"
            for t in BUILDING.tenants
        }
        assert tenants["t103"]["quota_kwh"] == "60.000"
        assert tenants["t101"]["quota_kwh"] is None
        points = {p["id"] for p in (await ledger_api.call("GET", "/api/points"))["points"]}
        assert points == {
            *(c.point_id for c in BUILDING.circuits),
            *(m.point_id for m in BUILDING.water_meters),
            BUILDING.heat_meter.point_id,
        }
        # The month so far (from 1 October) is in: every tenant has used energy and been
        # charged for it (t103's and t202's 60 kWh allowances are used up by the 20th).
        for state in tenants.values():
            assert state["period_start"] == "2026-10-01T00:00:00+01:00"
            assert Decimal(state["period_energy_kwh"]) > 0
            assert Decimal(state["period_cost"]) > 0
        # Prepaid balance = opening payment - what was charged (nothing posted but the two).
        journal = (await ledger_api.call("GET", "/api/tenants/t101/journal?limit=10000"))["entries"]
        assert Decimal(tenants["t101"]["balance"]) == sum(Decimal(e["amount"]) for e in journal)
        assert any(e["amount"] == "50.00" and e["kind"] == "top_up" for e in journal)

        # Live readings keep arriving from the breakers and the Modbus meter, over MQTT,
        # stamped by the demo's clock (from DEMO_NOW on).
        stored_at_start = (await ledger_api.counters())["readings_stored"]
        since = int(datetime.fromisoformat(DEMO_NOW).timestamp())
        await asyncio.sleep(4)
        stored_later = (await ledger_api.counters())["readings_stored"]
        assert stored_later >= stored_at_start + 2 * len(BUILDING.circuits)
        for circuit in (BUILDING.breakers[0].circuit, BUILDING.modbus_channels[-1].circuit):
            recent = await ledger_api.call(
                "GET", f"/api/readings?point={circuit.point_id}&since={since}"
            )
            assert len(recent["readings"]) >= 2, circuit.point_id
            registers = [r["energy_wh"] for r in recent["readings"]]
            assert registers == sorted(registers)


async def test_the_demo_prints_each_tenants_portal_link_and_pin(live_demo: DemoRun) -> None:
    """No Home Assistant login for tenants: the landlord hands out a link and a PIN."""
    summary = live_demo.summary()
    for tenant in BUILDING.tenants:
        printed = summary["tenant_portal"][tenant.tenant_id]
        assert f"{printed['url']}  PIN {printed['pin']}" in live_demo.output
    headers = {"Authorization": f"Bearer {summary['ledger_admin_token']}"}
    await tenant_sees_only_their_portal(summary, "t101", "Ana Costa", headers)
    assert summary["ledger_admin_token"] not in _command_lines()


def _command_lines() -> str:
    return subprocess.run(
        ["/bin/ps", "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout


def test_sigterm_stops_everything_cleanly(live_demo: DemoRun) -> None:
    ledger_url = live_demo.summary()["ledger_url"]

    assert live_demo.stop(signal.SIGTERM) == 0

    assert "✓ stopped cleanly" in live_demo.output
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(ledger_url + "/api/health", timeout=2)


def _table_rows(output: str) -> dict[str, list[str]]:
    """The printed statement table: tenant id (or "all") → the numeric cells."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if cells and (cells[0] in {t.tenant_id for t in BUILDING.tenants} or cells[0] == "all"):
            rows[cells[0]] = cells[-7:]  # kWh, m³, energy, standing, net, tax, total
    return rows


async def test_simulated_month_prints_the_ledgers_statements(
    tmp_path: Path, socket_enabled: None
) -> None:
    run = DemoRun(tmp_path, "--simulate-month", "--month", "2026-10", "--now", AFTER_OCTOBER)
    assert await asyncio.to_thread(run.process.wait, 120) == 0, run.output
    rows = _table_rows(run.output)

    # The printed figures are the ledger's: start it again on its data and ask its API.
    token = secrets.token_urlsafe(24)
    # On the demo's clock: a ledger on the wall clock would (rightly) issue the months since.
    ledger = LedgerProcess(
        run.data_dir / "month" / "ledger",
        admin_token=token,
        args=building_args(),
        clock=SimClock.at(AFTER_OCTOBER),
    )
    await asyncio.to_thread(ledger.start)
    try:
        async with ledger.api() as ledger_api:
            issued = {}
            for tenant in BUILDING.tenants:
                listed = await ledger_api.call("GET", f"/api/tenants/{tenant.tenant_id}/statements")
                (statement,) = listed["statements"]
                issued[tenant.tenant_id] = await ledger_api.call(
                    "GET", f"/api/statements/{statement['id']}"
                )
    finally:
        ledger.stop()

    assert set(rows) == {*issued, "all"}
    for tenant_id, document in issued.items():
        kwh, m3, _energy, _standing, net, tax, total = rows[tenant_id]
        # Each tenant's statement bills its room's electricity and its cold water.
        assert [section["resource"] for section in document["sections"]] == [
            "electricity",
            "water",
        ]
        assert (kwh, m3, net, tax, total) == (
            document["energy_kwh"],
            document["sections"][1]["usage"],
            document["net"],
            document["tax"],
            document["total"],
        )
        assert (document["period_start"], document["period_end"]) == ("2026-10-01", "2026-10-31")
    assert Decimal(rows["all"][-1]) == sum(Decimal(d["total"]) for d in issued.values())

    # And the energy is what the simulated meters counted over October, to the Wh.
    start = datetime(2026, 10, 1, tzinfo=ZoneInfo(TIMEZONE))
    end = datetime(2026, 11, 1, tzinfo=ZoneInfo(TIMEZONE))
    registers = BuildingRegisters(BUILDING, int(start.timestamp()), step_s=300)
    at_start = {c.point_id: registers.energy_wh(c) for c in BUILDING.circuits}
    litres_at_start = {m.point_id: registers.volume_l(m) for m in BUILDING.water_meters}
    heat_at_start = registers.heat_wh()
    registers.advance(int(end.timestamp()))
    heat_wh = registers.heat_wh() - heat_at_start
    litres: dict[str, int] = {}
    for tenant in BUILDING.tenants:
        (circuit,) = [c for c in BUILDING.rooms if c.space_id == tenant.space_id]
        used_wh = registers.energy_wh(circuit) - at_start[circuit.point_id]
        assert Decimal(issued[tenant.tenant_id]["energy_kwh"]) * 1000 == used_wh
        # And the water its room's pulse counter counted, to the litre.
        (meter,) = [m for m in BUILDING.water_meters if m.space_id == tenant.space_id]
        used_l = registers.volume_l(meter) - litres_at_start[meter.point_id]
        assert Decimal(issued[tenant.tenant_id]["sections"][1]["usage"]) * 1000 == used_l
        litres[tenant.tenant_id] = used_l
    # The shared hot-water heat meter is shared by the rooms' water use: each share is the
    # heat's exact water-weighted part rounded to a whole Wh, and the shares add up to it.
    heat_shares = {}
    for tenant_id, document in issued.items():
        (shared,) = [line for line in document["lines"] if line["kind"] == "shared"]
        assert shared["label"] == f"shared: {BUILDING.heat_meter.name} (by water use)"
        heat_shares[tenant_id] = int(Decimal(shared["quantity"]) * 1000)
    assert sum(heat_shares.values()) == heat_wh
    water = sum(litres.values())
    for tenant_id, share in heat_shares.items():
        assert abs(share * water - heat_wh * litres[tenant_id]) < water


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--month", "2026-11"), "--month 2026-11 has not ended yet (today is 2026-11-15)"),
        (("--month", "2026-12"), "the latest month to simulate is 2026-10"),
        (("--month", "2026-13"), "is not a month; use YYYY-MM"),
        (("--month", "October"), "is not a month; use YYYY-MM"),
        (("--month", "1999-12"), "simulate a month from 2000 on"),
    ],
)
def test_simulated_month_refuses_a_month_that_has_not_ended(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    run = DemoRun(tmp_path, "--simulate-month", *args, "--now", AFTER_OCTOBER)
    assert run.process.wait(30) == 2
    (line,) = run.output.splitlines()
    assert line.startswith("scripts/demo: ")
    assert says in line
    assert not (run.data_dir / "month").exists(), "nothing is started for a refused month"


@pytest.mark.parametrize(
    ("now", "says"),
    [
        ("2026-10-20 12:00", "is not an ISO 8601 instant with a UTC offset"),
        ("tomorrow", "is not an ISO 8601 instant with a UTC offset"),
        ("9999-01-01T00:00:00+00:00", "is in the future"),
    ],
)
def test_demo_refuses_a_bad_now(tmp_path: Path, now: str, says: str) -> None:
    run = DemoRun(tmp_path, "--now", now, "--no-ha")
    assert run.process.wait(30) == 2
    (line,) = run.output.splitlines()
    assert says in line, line


def test_sigterm_during_a_simulated_month_stops_the_ledger_and_broker(
    tmp_path: Path, socket_enabled: None
) -> None:
    run = DemoRun(tmp_path, "--simulate-month", "--month", "2026-10", "--now", AFTER_OCTOBER)
    run.wait_for("ledger on http://", timeout=60)
    (ledger_line,) = [line for line in run.output.splitlines() if "ledger on http://" in line]
    ledger_port = int(ledger_line.split("http://127.0.0.1:")[1].split()[0])
    (broker_line,) = [line for line in run.output.splitlines() if "Mosquitto on mqtt://" in line]
    broker_port = int(broker_line.split("mqtt://127.0.0.1:")[1].split()[0])

    assert run.stop(signal.SIGTERM) == 130

    for port in (ledger_port, broker_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
