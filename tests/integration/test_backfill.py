"""A new channel gets its history from the ledger: statistics from the first hour, and the
recorder's own statistics carry on from them instead of starting again at zero.

The ledger is the real one (its service and API in this process, on a real SQLite file);
Home Assistant's recorder is real; the time is frozen.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest.mock import MagicMock

import aiohttp
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.statistics import (
    StatisticsRow,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.tenant_metering.identifiers import mqtt_point_id
from custom_components.tenant_metering.ledger_link.backfill import (
    async_backfill_statistics,
    energy_sensor_of_point,
)
from custom_components.tenant_metering.ledger_link.client import LedgerClient
from tenant_ledger.app import create_app
from tenant_ledger.config import LedgerConfig
from tenant_ledger.db.engine import default_url
from tenant_ledger.service import LedgerService

from .common import BASE, DEVICE_ID, announce, fire, setup_hub, state

TOKEN = "backfill-admin-token"
NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
FIRST = NOW.replace(minute=0) - timedelta(days=3)
"""The ledger's first reading: three days before this hour."""
HOURS = 72
START_WH = 1_000_000
POINT = mqtt_point_id(DEVICE_ID, "1")


def hourly_use(hour: int) -> int:
    return 100 + (hour * 37) % 900


def register(hour: int) -> int:
    return START_WH + sum(hourly_use(h) for h in range(1, hour + 1))


def _ts(when: datetime) -> int:
    return int(when.timestamp())


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before ``hass``, which enabling custom integrations creates."""


@pytest.fixture
def now(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    freezer.move_to(NOW)
    return freezer


@pytest.fixture
async def ledger_url(tmp_path: Path, socket_enabled: None) -> AsyncIterator[str]:
    """The real ledger with a point holding 3 days of hourly readings (the last at this hour)."""
    data_dir = tmp_path / "ledger"
    data_dir.mkdir()
    config = LedgerConfig(
        data_dir=data_dir,
        database_url=default_url(data_dir),
        broker=None,
        timezone="Europe/Berlin",
        admin_token=TOKEN,
        tick_seconds=3600,
    )
    service = LedgerService(config, clock=lambda: _ts(NOW) * 1_000_000)
    await service.start()
    server = TestServer(create_app(service), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    readings = [
        {"point": POINT, "ts": _ts(FIRST) + hour * 3600, "energy_wh": register(hour)}
        for hour in range(HOURS + 1)
    ]
    async with aiohttp.ClientSession(headers=headers) as session:
        for path, body in (
            ("/api/points", {"id": POINT, "name": "Room 201", "reason": "setup"}),
            ("/api/readings", {"readings": readings}),
        ):
            async with session.post(f"{url}{path}", json=body) as reply:
                assert reply.status in (200, 201), await reply.text()
    yield url
    await server.close()
    await service.stop()


async def _rows(hass: HomeAssistant, entity_id: str, period: str) -> list[StatisticsRow]:
    await async_wait_recording_done(hass)
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        FIRST - timedelta(hours=1),
        None,
        {entity_id},
        period,
        None,
        {"state", "sum"},
    )
    found: list[StatisticsRow] = rows.get(entity_id, [])
    return found


def _kwh(value: float | None) -> Decimal:
    assert value is not None
    return Decimal(str(value)).quantize(Decimal("0.001"))


async def test_a_new_channel_gets_the_ledgers_history_and_the_recorder_continues_it(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    now: FrozenDateTimeFactory,
    ledger_url: str,
) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(_ts(NOW), 1, {"1": {"energy_wh": register(HOURS)}}))
    await hass.async_block_till_done()
    sensor = energy_sensor_of_point(hass, POINT)
    assert sensor is not None

    async with aiohttp.ClientSession() as session:
        client = LedgerClient(session, ledger_url, TOKEN)
        imported = await async_backfill_statistics(hass, client)
        # A statistic with its hours is never filled again.
        again = await async_backfill_statistics(hass, client)

    # 72 past hours (FIRST .. the hour before this one) and one five-minute row.
    assert imported == {sensor: HOURS + 1}
    assert again == {}
    hourly = await _rows(hass, sensor, "hour")
    assert [datetime.fromtimestamp(row["start"], UTC) for row in hourly] == [
        FIRST + timedelta(hours=hour) for hour in range(HOURS)
    ]
    assert [_kwh(row["sum"]) for row in hourly] == [
        Decimal(register(hour) - START_WH) / 1000 for hour in range(HOURS)
    ]
    assert [_kwh(row["state"]) for row in hourly] == [
        Decimal(register(hour)) / 1000 for hour in range(HOURS)
    ]
    (seed,) = await _rows(hass, sensor, "5minute")
    assert datetime.fromtimestamp(seed["start"], UTC) == NOW - timedelta(minutes=5)
    assert _kwh(seed["sum"]) == Decimal(register(HOURS) - START_WH) / 1000

    # The recorder's next five minutes: 0.5 kWh more, and its sum continues the ledger's.
    now.move_to(NOW + timedelta(minutes=2))
    fire(
        hass, f"{BASE}/state", state(_ts(NOW) + 120, 2, {"1": {"energy_wh": register(HOURS) + 500}})
    )
    await async_wait_recording_done(hass)
    now.move_to(NOW + timedelta(minutes=5, seconds=10))
    do_adhoc_statistics(hass, start=NOW)
    await async_wait_recording_done(hass)
    short_term = await _rows(hass, sensor, "5minute")
    assert [datetime.fromtimestamp(row["start"], UTC) for row in short_term] == [
        NOW - timedelta(minutes=5),
        NOW,
    ]
    assert _kwh(short_term[1]["sum"]) == Decimal(register(HOURS) + 500 - START_WH) / 1000
