"""A 3-day backhaul outage replayed from the breaker's backlog bills exactly like no outage.

The same simulated 3 days run twice, side by side: two breakers meter identical registers
every hour; breaker A stays online, breaker B loses its backhaul for the whole 3 days
(LWT offline, states buffered) and sends its backlog when it returns. Both go through HA to
the real ledger. Compared afterwards:

* bills: the ledger's stored readings, balances and journal entries of both tenants;
* energy statistics: HA's long-term statistics of B's energy sensor, imported from the
  backlog, against the hourly consumption of the no-outage registers. (A's own hourly
  statistics cannot be compared directly: the recorder compiles live states in real time,
  and these 3 days are simulated in seconds.)
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.models import StatisticData
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
from tenant_sim.mosquitto import MosquittoBroker

from .harness import (
    FLAT_RATE,
    Ledger,
    first_state,
    quiet_fleet,
    send,
    state,
    until,
    until_async,
)

pytestmark = pytest.mark.slow

HOURS = 72
START_WH = 1_000_000
OUTAGE_SENSOR = "sensor.room_201_energy"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must start before ``hass`` (conftest's version requests ``hass`` first)."""


def hourly_use(hour: int) -> int:
    """Wh used in hour ``hour`` of the 3 days: a repeatable 0.2 .. 0.9 kWh."""
    return 200 + (hour * 53) % 700


def register(hour: int) -> int:
    return START_WH + sum(hourly_use(h) for h in range(1, hour + 1))


async def test_three_day_outage_replayed_from_backlog_bills_like_no_outage(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mosquitto: MosquittoBroker,
    ledger: Ledger,
    metering: None,
) -> None:
    fleet = quiet_fleet(mosquitto, channels=1, breakers=2)
    online, outage = fleet.breakers
    points = {"t101": f"mqtt:{online.device_id}:1", "t201": f"mqtt:{outage.device_id}:1"}
    await ledger.building(points)
    now = ledger.now()
    t0 = now - now % 3600 - 4 * 86_400  # 4 days ago, top of the hour: all 3 days are past
    try:
        await hass.async_add_executor_job(fleet.connect)
        for breaker in fleet.breakers:
            await first_state(hass, breaker, t0, {"1": START_WH})
        # The recorder compiled the hour before the outage (in real time it would have; these
        # days are simulated in seconds): the backlog import continues from that statistic.
        async_import_statistics(
            hass,
            energy_statistic_metadata(OUTAGE_SENSOR),
            [StatisticData(start=datetime.fromtimestamp(t0, UTC), state=START_WH / 1000, sum=0.0)],
        )
        await async_wait_recording_done(hass)
        await hass.async_add_executor_job(outage.outage)
        await until(lambda: state(hass, OUTAGE_SENSOR) == "unavailable", "LWT")
        for hour in range(1, HOURS + 1):
            for breaker in fleet.breakers:
                send(breaker, t0 + hour * 3600, {"1": register(hour)})
        assert len(outage.backlog) == HOURS
        await hass.async_add_executor_job(outage.restore)

        async def complete() -> bool:
            counts = [len(await ledger.readings(point)) for point in points.values()]
            return counts == [HOURS + 1, HOURS + 1]

        await until_async(complete, "both runs' readings in the ledger")
    finally:
        await hass.async_add_executor_job(fleet.close)

    # Bills: the same readings, the same balance, the same journal amounts.
    used_wh = register(HOURS) - START_WH
    expected = -(Decimal(used_wh) / 1000 * FLAT_RATE).quantize(Decimal("0.01"))
    stored = {
        t: [(r["ts"], r["energy_wh"]) for r in await ledger.readings(p)] for t, p in points.items()
    }
    assert stored["t101"] == stored["t201"]
    assert stored["t201"] == [(t0 + h * 3600, register(h)) for h in range(HOURS + 1)]
    assert await ledger.balance("t101") == await ledger.balance("t201") == expected
    # Live readings are posted as they come, the backlog at once: the totals are equal.
    for tenant in points:
        journal = await ledger.call("GET", f"/api/tenants/{tenant}/journal?limit=1000")
        assert sum(Decimal(entry["amount"]) for entry in journal["entries"]) == expected

    # Energy statistics of the outage channel: every hour of the 3 days, as without outage.
    await hass.async_block_till_done()
    await async_wait_recording_done(hass)
    rows = await get_instance(hass).async_add_executor_job(_hourly, hass, t0)
    by_start = {int(row["start"]): row for row in rows}
    # The pre-outage hour, then one row per backlog hour, stamped with the hour its reading
    # fell in; sums continue from the pre-outage statistic as if nothing had been missed.
    hours = range(1, HOURS + 1)
    assert sorted(by_start) == [t0 + h * 3600 for h in range(HOURS + 1)]
    states = [Decimal(str(by_start[t0 + h * 3600]["state"])) for h in hours]
    sums = [Decimal(str(by_start[t0 + h * 3600]["sum"])) for h in hours]
    assert states == [Decimal(register(h)) / 1000 for h in hours]
    assert sums == [Decimal(register(h) - START_WH) / 1000 for h in hours]
    assert [b - a for a, b in pairwise([Decimal(0), *sums])] == [
        Decimal(hourly_use(h)) / 1000 for h in hours
    ]


def _hourly(hass: HomeAssistant, t0: int) -> list[dict[str, Any]]:
    result = statistics_during_period(
        hass,
        datetime.fromtimestamp(t0, UTC) - timedelta(hours=1),
        datetime.fromtimestamp(t0 + (HOURS + 2) * 3600, UTC),
        {"sensor.room_201_energy"},
        "hour",
        None,
        {"state", "sum"},
    )
    return [dict(row) for row in result.get("sensor.room_201_energy", [])]
