"""Crash safety: SIGKILL in the middle of a large MQTT ingestion loses and duplicates nothing."""

from datetime import UTC, datetime
from decimal import Decimal
import os
from pathlib import Path
import random
import sqlite3
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

import pytest

from tenant_ledger.billing import (
    FlatEnergy,
    Reading,
    Tariff,
    TariffSchedule,
    billing_period,
    consumption,
    exact_gross,
    from_epoch,
    rate,
    to_minor,
)
from tenant_ledger.db.engine import DATABASE_FILE
from tenant_sim.clock import SimClock
from tenant_sim.mosquitto import MosquittoBroker

from .ledger_process import REPO_ROOT, LedgerProcess
from .mqtt_probe import MqttProbe, readings_payload

RATE = "0.2917"
TENANTS = 20
READINGS_PER_POINT = 1000
PER_MESSAGE = 50
START = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
# The ledger's clock: just after the last reading (1,000 minutes after START), same month.
LEDGER_NOW = datetime(2026, 11, 20, 17, tzinfo=UTC)


def _series(seed: int) -> list[tuple[int, int]]:
    generator = random.Random(seed)
    register, series = generator.randrange(10**6), []
    for step in range(READINGS_PER_POINT):
        register += generator.randrange(0, 250)
        series.append((START + step * 60, register))
    return series


def _count(data_dir: Path, sql: str) -> int:
    connection = sqlite3.connect(f"file:{data_dir / DATABASE_FILE}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute(sql).fetchone()[0] or 0)
    finally:
        connection.close()


def _offline_minor(series: list[tuple[int, int]], point: str) -> int:
    """What the billing engine says the whole series costs, rounded once."""
    zone = ZoneInfo("Europe/Berlin")
    tariff = Tariff(currency="EUR", timezone=zone, energy=FlatEnergy(rate=Decimal(RATE)))
    readings = [Reading(point_id=point, ts=from_epoch(ts), energy_wh=wh) for ts, wh in series]
    start, end = billing_period(1, from_epoch(START), zone)
    intervals = consumption(readings)[point].intervals
    rating = rate(intervals, TariffSchedule.single(tariff), start=start, end=end)
    return to_minor(exact_gross(rating.energy_lines), "EUR")


@pytest.mark.slow
def test_sigkill_mid_ingestion_rates_every_reading_exactly_once(
    tmp_path: Path, mosquitto: MosquittoBroker
) -> None:
    data_dir = tmp_path / "ledger"
    ledger = LedgerProcess(data_dir, "--mqtt-url", mosquitto.url, clock=SimClock(LEDGER_NOW))
    ledger.start()
    tariff = {
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "energy": {"type": "flat", "rate": RATE},
    }
    ledger.call(
        "POST",
        "/api/tariffs/std/versions",
        {"tariff": tariff, "effective_from": "2026-01-01T00:00:00+01:00", "reason": "setup"},
    )
    ledger.call(
        "POST", "/api/plans", {"id": "p", "name": "Prepaid", "kind": "prepaid", "tariff": "std"}
    )
    series = {f"mqtt:crash:{n}": _series(n) for n in range(TENANTS)}
    for n, point in enumerate(series):
        ledger.call("POST", "/api/tenants", {"id": f"t{n}", "name": point, "plan": "p"})
        ledger.call("POST", "/api/points", {"id": point, "name": point})
        ledger.call(
            "POST",
            f"/api/tenants/t{n}/move-in",
            {"points": [point], "at": "2026-11-01T00:00:00+01:00"},
        )
    total = TENANTS * READINGS_PER_POINT
    messages = [
        readings_payload(point, values[i : i + PER_MESSAGE])
        for i in range(0, READINGS_PER_POINT, PER_MESSAGE)
        for point, values in series.items()
    ]
    with MqttProbe(mosquitto) as probe:
        # Readings published before the ledger's first subscription reach no one (the broker
        # keeps a session only once it has seen one); "online" is published after subscribing.
        probe.wait_for("tenant_metering/ledger/status", lambda payload: payload == b"online", 30)

        def publish_all() -> None:
            for message in messages:
                probe.publish("tenant_metering/readings", message)

        publisher = threading.Thread(target=publish_all)
        publisher.start()
        deadline = time.monotonic() + 60
        while _count(data_dir, "SELECT count(*) FROM readings") == 0:
            assert time.monotonic() < deadline, ledger.log()
            time.sleep(0.01)
        ledger.kill()
        stored_at_kill = _count(data_dir, "SELECT count(*) FROM readings")
        publisher.join()
        # The broker noticed the dead connection and published the ledger's last will.
        probe.wait_for("tenant_metering/ledger/status", lambda payload: payload == b"offline")
    assert stored_at_kill < total, "ingestion finished before the kill; make the test bigger"

    ledger.start()
    deadline = time.monotonic() + 120
    while _count(data_dir, "SELECT count(*) FROM readings") < total:
        assert time.monotonic() < deadline, ledger.log()
        time.sleep(0.1)
    # The last batch is rated in the same transaction that stored it.
    tenants = {t["tenant_id"]: t for t in ledger.call("GET", "/api/tenants")["tenants"]}
    assert ledger.stop() == 0

    assert _count(data_dir, "SELECT count(*) FROM readings") == total
    for n, (point, values) in enumerate(series.items()):
        posted = -_count(
            data_dir,
            f"SELECT sum(amount_minor) FROM journal_legs WHERE account = 'tenant:t{n}'",
        )
        assert posted == _offline_minor(values, point), point
        energy = values[-1][1] - values[0][1]
        assert tenants[f"t{n}"]["period_energy_kwh"] == f"{energy // 1000}.{energy % 1000:03d}"
    verify = subprocess.run(
        [sys.executable, "-m", "tenant_ledger", "verify", "--data-dir", str(data_dir)],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "addon")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout
