"""Store-and-forward backlogs: de-duplicated, forwarded to the ledger, filled into statistics."""

from datetime import UTC, datetime, timedelta
from unittest.mock import MagicMock

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.models import StatisticData, StatisticMeanType
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.tenant_metering.statistics import energy_statistic_metadata

from .common import BASE, DEVICE_ID, announce, fire, published, setup_hub, state

READINGS = "tenant_metering/readings"
ENERGY = "sensor.room_201_energy"
NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
OUTAGE_START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def _ts(when: datetime) -> int:
    return int(when.timestamp())


def _backlog(start_wh: int, hours: int, wh_per_reading: int) -> dict[str, object]:
    """Readings every 15 minutes from OUTAGE_START, one channel."""
    readings = []
    for step in range(hours * 4):
        when = OUTAGE_START + timedelta(minutes=15 * step)
        readings.append(
            state(_ts(when), 100 + step, {"1": {"energy_wh": start_wh + step * wh_per_reading}})
        )
    return {"readings": readings}


async def _statistics(hass: HomeAssistant) -> list[tuple[datetime, float | None, float | None]]:
    await async_wait_recording_done(hass)
    rows = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        OUTAGE_START - timedelta(hours=2),
        None,
        {ENERGY},
        "hour",
        None,
        {"state", "sum"},
    )
    return [
        (datetime.fromtimestamp(row["start"], UTC), row["state"], row["sum"])
        for row in rows.get(ENERGY, [])
    ]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before ``hass``, which enabling custom integrations creates."""


@pytest.fixture
def now(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    freezer.move_to(NOW)
    return freezer


async def test_backlog_fills_hourly_statistics_continuing_the_last_one(
    recorder_mock: Recorder, hass: HomeAssistant, mqtt_mock: MagicMock, now: object
) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(_ts(NOW), 500, {"1": {"energy_wh": 10_000}}))
    await hass.async_block_till_done()
    # The hour before the outage, as the recorder compiled it: register 1.000 kWh, sum 5.
    async_import_statistics(
        hass,
        energy_statistic_metadata(ENERGY),
        [StatisticData(start=OUTAGE_START - timedelta(hours=1), state=1.0, sum=5.0)],
    )
    await async_wait_recording_done(hass)

    # Four hours of 15-minute readings from 08:00, 100 Wh each, register from 1000 Wh.
    fire(hass, f"{BASE}/backlog", _backlog(1000, 4, 100))
    await hass.async_block_till_done()

    rows = await _statistics(hass)
    assert rows == [
        (OUTAGE_START - timedelta(hours=1), 1.0, 5.0),
        (OUTAGE_START, 1.3, 5.3),
        (OUTAGE_START + timedelta(hours=1), 1.7, 5.7),
        (OUTAGE_START + timedelta(hours=2), 2.1, 6.1),
        (OUTAGE_START + timedelta(hours=3), 2.5, 6.5),
    ]

    # Forwarded to the ledger in one batch; the overlapping resend is dropped.
    batch = (await published(mqtt_mock, READINGS, count=2))[1]
    assert len(batch["readings"]) == 16
    assert batch["readings"][0] == {
        "point": f"mqtt:{DEVICE_ID}:1",
        "ts": _ts(OUTAGE_START),
        "energy_wh": 1000,
        "seq": 100,
    }
    fire(hass, f"{BASE}/backlog", _backlog(1000, 4, 100))
    await hass.async_block_till_done()
    assert len(await published(mqtt_mock, READINGS)) == 2


async def test_backlog_before_the_sensor_exists_waits_for_it(
    recorder_mock: Recorder, hass: HomeAssistant, mqtt_mock: MagicMock, now: object
) -> None:
    await setup_hub(hass)
    # Statistics from before a restart; the sensor is not back yet when the backlog comes.
    async_import_statistics(
        hass,
        energy_statistic_metadata(ENERGY),
        [StatisticData(start=OUTAGE_START - timedelta(hours=1), state=2.0, sum=7.0)],
    )
    await async_wait_recording_done(hass)
    await announce(hass)
    fire(hass, f"{BASE}/backlog", _backlog(2000, 2, 250))
    await hass.async_block_till_done()
    rows = await _statistics(hass)
    assert rows == [
        (OUTAGE_START - timedelta(hours=1), 2.0, 7.0),
        (OUTAGE_START, 2.75, 7.75),
        (OUTAGE_START + timedelta(hours=1), 3.75, 8.75),
    ]


async def test_backlog_without_earlier_statistics_is_not_imported(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MagicMock,
    now: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A sum from zero would clash with the one the recorder keeps (a negative hour)."""
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(_ts(NOW), 500, {"1": {"energy_wh": 10_000}}))
    fire(hass, f"{BASE}/backlog", _backlog(2000, 2, 250))
    await hass.async_block_till_done()
    assert await _statistics(hass) == []
    assert "no earlier statistic to continue (none yet)" in caplog.text
    # The ledger still gets the readings.
    assert len((await published(mqtt_mock, READINGS, count=2))[1]["readings"]) == 8


async def test_hours_are_utc_hours_in_any_time_zone(
    recorder_mock: Recorder, hass: HomeAssistant, mqtt_mock: MagicMock, now: object
) -> None:
    await hass.config.async_set_time_zone("Asia/Kathmandu")  # UTC+05:45
    await setup_hub(hass)
    await announce(hass)
    async_import_statistics(
        hass,
        energy_statistic_metadata(ENERGY),
        [StatisticData(start=OUTAGE_START - timedelta(hours=1), state=1.0, sum=5.0)],
    )
    await async_wait_recording_done(hass)
    fire(hass, f"{BASE}/backlog", _backlog(1000, 2, 100))
    await hass.async_block_till_done()
    rows = await _statistics(hass)
    assert [start for start, _, _ in rows] == [
        OUTAGE_START - timedelta(hours=1),
        OUTAGE_START,
        OUTAGE_START + timedelta(hours=1),
    ]
    assert all(start.minute == start.second == 0 for start, _, _ in rows)
    assert [total for _, _, total in rows] == [5.0, 5.3, 5.7]


async def test_hours_with_statistics_are_left_alone(
    recorder_mock: Recorder, hass: HomeAssistant, mqtt_mock: MagicMock, now: object
) -> None:
    await setup_hub(hass)
    await announce(hass)
    fire(hass, f"{BASE}/state", state(_ts(NOW), 500, {"1": {"energy_wh": 10_000}}))
    await hass.async_block_till_done()
    async_import_statistics(
        hass,
        energy_statistic_metadata(ENERGY),
        [
            StatisticData(start=OUTAGE_START - timedelta(hours=1), state=1.0, sum=5.0),
            StatisticData(start=OUTAGE_START + timedelta(hours=1), state=9.0, sum=9.0),
        ],
    )
    await async_wait_recording_done(hass)
    fire(hass, f"{BASE}/backlog", _backlog(1000, 2, 100))
    await hass.async_block_till_done()
    rows = await _statistics(hass)
    assert rows == [
        (OUTAGE_START - timedelta(hours=1), 1.0, 5.0),
        (OUTAGE_START, 1.3, 5.3),
        (OUTAGE_START + timedelta(hours=1), 9.0, 9.0),
    ]


def test_metadata_follows_ha_compat() -> None:
    metadata = energy_statistic_metadata(ENERGY)
    assert metadata["mean_type"] is StatisticMeanType.NONE
    assert "has_mean" not in metadata
    assert metadata["source"] == "recorder"
    assert metadata["unit_of_measurement"] == "kWh"
