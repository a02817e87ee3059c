"""One bad message or id never stops the building's readings, and a stall is visible."""

import asyncio
from collections.abc import Sequence
import functools
import json
from typing import Any

import pytest
import sqlalchemy as sa

from tenant_ledger import service as service_module
from tenant_ledger.db import point_numbers, readings_store
from tenant_ledger.db.schema import quarantined_readings, reading_points
from tenant_ledger.readings_in import IncomingReading
from tenant_ledger.service import LedgerService

from .conftest import Api

GOOD, POISON = "mqtt:a4cf12ab34cd:1", "mqtt:a4cf12ab34cd:2"
NOV_5 = 1_793_836_800  # 2026-11-05 00:00 UTC


def _message(point: str, energy_wh: int) -> bytes:
    reading = {"point": point, "ts": NOV_5, "energy_wh": energy_wh}
    return json.dumps({"readings": [reading]}).encode()


def _rows(connection: sa.Connection, _catalog: object) -> tuple[list[str], list[tuple[str, str]]]:
    stored = (
        connection.execute(
            sa.select(reading_points.c.point_id).select_from(point_numbers.WITH_POINT_IDS)
        )
        .scalars()
        .all()
    )
    parked = connection.execute(
        sa.select(quarantined_readings.c.point_id, quarantined_readings.c.reason)
    ).all()
    return list(stored), [(row.point_id, row.reason) for row in parked]


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Storing any reading of POISON raises (as an unforeseen bug would)."""
    store = readings_store.store_messages

    def failing(
        connection: sa.Connection, messages: Sequence[Sequence[IncomingReading]], *args: Any
    ) -> Any:
        if any(reading.point_id == POISON for message in messages for reading in message):
            raise RuntimeError("boom")
        return store(connection, messages, *args)

    monkeypatch.setattr(service_module, "store_messages", failing)
    monkeypatch.setattr(service_module, "_RETRY_SECONDS", 0.01)


async def _deliver(ledger: LedgerService, *payloads: bytes) -> list[bytes]:
    acked: list[bytes] = []
    for payload in payloads:
        ledger._from_mqtt(payload, functools.partial(acked.append, payload))
    for _ in range(200):
        if len(acked) == len(payloads):
            break
        await asyncio.sleep(0.01)
    return acked


@pytest.mark.usefixtures("poisoned")
async def test_a_poison_message_is_parked_and_the_building_keeps_metering(
    api: Api, ledger: LedgerService
) -> None:
    good, poison = _message(GOOD, 1000), _message(POISON, 2000)
    acked = await _deliver(ledger, poison, good)
    assert sorted(acked) == sorted([poison, good])
    assert await ledger.read(_rows) == ([GOOD], [(POISON, "ingest_error")])
    health = await api.client.get("/api/health")
    assert (health.status, (await health.json())["ingest"]) == (200, "ok")


@pytest.mark.usefixtures("poisoned")
async def test_ingestion_that_cannot_even_park_reports_stalled(
    api: Api, ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(service_module, "park_readings", broken)
    monkeypatch.setattr(service_module, "park_message", broken)
    acked = await _deliver(ledger, _message(POISON, 2000))
    await asyncio.sleep(0.2)
    assert acked == []  # left to the broker
    health = await api.client.get("/api/health")
    assert (health.status, (await health.json())["ingest"]) == (503, "stalled")
    # Once a message is stored again, ingestion is live again.
    assert await _deliver(ledger, _message(GOOD, 1000)) == [_message(GOOD, 1000)]
    assert (await api.client.get("/api/health")).status == 200


async def test_a_failing_publish_does_not_stop_ingestion(
    api: Api, ledger: LedgerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    class BrokenMqtt:
        def publish_tenant(self, tenant_id: str, state: dict[str, Any]) -> None:
            raise ValueError(f"bad topic for {tenant_id}")

        def stop(self) -> None:
            pass

    await api.building(tenants={"t1": GOOD})
    monkeypatch.setattr(ledger, "mqtt", BrokenMqtt())
    assert await _deliver(ledger, _message(GOOD, 1000)) == [_message(GOOD, 1000)]
    body = {"readings": [{"point": GOOD, "ts": NOV_5 + 3600, "energy_wh": 2000}]}
    await api.call("POST", "/api/readings", body, expect=200)
    assert (await api.call("GET", "/api/tenants/t1"))["period_energy_kwh"] == "1.000"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/tenants", {"id": "a+b", "name": "x", "plan": "main"}, "id"),
        ("/api/tenants", {"id": "a/b", "name": "x", "plan": "main"}, "id"),
        ("/api/spaces", {"id": "s#1", "name": "x"}, "id"),
        ("/api/points", {"id": "mqtt:dev/1:1", "name": "x"}, "id"),
        ("/api/plans", {"id": "p+", "name": "x", "kind": "prepaid", "tariff": "std"}, "id"),
        (
            "/api/tariffs/a+b/versions",
            {"tariff": {}, "effective_from": "2026-11-01T00:00:00+01:00", "reason": "x"},
            "tariff",
        ),
    ],
)
async def test_ids_that_would_break_mqtt_topics_are_refused(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    refused = await api.call("POST", path, body, expect=400)
    assert refused["error"]["message"].startswith(f"{field} ")
    assert "not a valid id" in refused["error"]["message"]
