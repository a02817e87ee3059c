"""Long-term statistics of energy sensors that HA could not compile itself.

Two cases, both continuing HA's own ``sum`` so the energy dashboard shows neither a gap nor a
negative hour:

- **A backlog** (``async_import_backlog``): a breaker that loses its backhaul goes offline
  (LWT), so the recorder compiles no hourly statistics for its energy sensor while it is away;
  when it returns, the recorder books the whole register jump into the hour of return. The
  backlog tells when that energy was really used: we fill the missing hours with ``sum``
  values continuing from the last statistic before the outage. Those values are consistent
  with what the recorder computes afterwards (it also continues from that statistic). Hours
  that already have statistics, and the current hour, are left to the recorder.
- **A new sensor** (``async_backfill``): a channel HA has had for less than an hour has no
  long-term statistics, while the ledger may hold months of its readings. We import the past
  hours from the first reading on, and one five-minute (short-term) row at the newest reading:
  the recorder continues each sensor's ``sum`` from its newest short-term row, so its own
  rows carry on from ours instead of starting again from zero. Writing a short-term row has no
  public helper; ``Recorder.async_import_statistics(metadata, rows, StatisticsShortTerm)`` is
  the recorder's own import (the public helper calls it with ``Statistics``), the same on HA
  2025.4 and 2026.x.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import logging
from typing import Any, Final

from homeassistant.components.recorder.db_schema import StatisticsShortTerm
from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_import_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from .hourly import HOUR, HourlyEnergy, hourly_registers, hourly_statistics

_LOGGER = logging.getLogger(__name__)

# How far back to look for the statistic an outage continues from, when newer rows exist.
ANCHOR_LOOKBACK: Final = timedelta(days=14)


def _epoch(value: float | datetime) -> int:
    return int(value.timestamp() if isinstance(value, datetime) else value)


def _anchor_and_existing(
    hass: HomeAssistant, statistic_id: str, first_hour: int, last_hour: int
) -> tuple[tuple[int, Decimal] | None, set[int], bool]:
    """(register Wh, sum) of the last statistic before ``first_hour``, the hours in range
    that already have statistics, and whether any statistic exists at all. Runs in the
    recorder's executor."""
    types: Any = {"state", "sum"}
    last_rows = get_last_statistics(hass, 1, statistic_id, False, types).get(statistic_id, [])
    if not last_rows:
        return None, set(), False
    rows = last_rows
    if _epoch(last_rows[0]["start"]) >= first_hour:
        rows = statistics_during_period(
            hass,
            datetime.fromtimestamp(first_hour, UTC) - ANCHOR_LOOKBACK,
            datetime.fromtimestamp(last_hour + HOUR, UTC),
            {statistic_id},
            "hour",
            None,
            types,
        ).get(statistic_id, [])
    anchor: tuple[int, Decimal] | None = None
    existing: set[int] = set()
    for row in rows:
        start = _epoch(row["start"])
        if start >= first_hour:
            existing.add(start)
        elif row.get("state") is not None and row.get("sum") is not None:
            anchor = (round(Decimal(str(row["state"])) * 1000), Decimal(str(row["sum"])))
    return anchor, existing, True


def energy_statistic_metadata(statistic_id: str) -> StatisticMetaData:
    """Metadata of a channel energy sensor's long-term statistic, valid on HA 2025.4 and 2026.x."""
    metadata = StatisticMetaData(
        mean_type=StatisticMeanType.NONE,
        has_sum=True,
        name=None,
        source="recorder",
        statistic_id=statistic_id,
        unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    )
    # HA 2025.11+ requires unit_class; 2025.4 rejects it (HA_COMPAT.md).
    if "unit_class" in StatisticMetaData.__annotations__:
        metadata["unit_class"] = "energy"  # type: ignore[typeddict-unknown-key]
    return metadata


async def async_import_backlog(
    hass: HomeAssistant, statistic_id: str, backlog: Iterable[tuple[int, int]]
) -> list[HourlyEnergy]:
    """Fill the hours a backlog covers that have no statistics yet; returns what was imported."""
    if "recorder" not in hass.config.components:
        return []
    readings = sorted(backlog)
    if not readings:
        return []
    current_hour = int(dt_util.utcnow().timestamp()) // HOUR * HOUR
    registers = {h: wh for h, wh in hourly_registers(readings).items() if h < current_hour}
    if not registers:
        return []
    first, last = min(registers), max(registers)
    anchor, existing, any_statistics = await get_instance(hass).async_add_executor_job(
        _anchor_and_existing, hass, statistic_id, first, last
    )
    if anchor is None:
        # Without a statistic before the backlog there is no sum to continue: one starting
        # from zero would clash with the recorder's own (it continues from its short-term
        # statistics), giving a negative hour. The ledger has the readings anyway.
        _LOGGER.info(
            "Not importing backlog into %s: no earlier statistic to continue (%s)",
            statistic_id,
            "only later ones" if any_statistics else "none yet",
        )
        return []
    rows = [
        row
        for row in hourly_statistics(registers, anchor_wh=anchor[0], anchor_sum=anchor[1])
        if row.start not in existing
    ]
    if rows:
        async_import_statistics(
            hass,
            energy_statistic_metadata(statistic_id),
            [
                StatisticData(
                    start=datetime.fromtimestamp(row.start, UTC),
                    state=float(row.state),
                    sum=float(row.sum),
                )
                for row in rows
            ],
        )
    return rows


SHORT_TERM: Final = 300
"""The recorder's short-term statistics period: five minutes."""


def _has_long_term(hass: HomeAssistant, statistic_id: str) -> bool:
    """Whether the statistic has any hourly row. Runs in the recorder's executor."""
    rows = get_last_statistics(hass, 1, statistic_id, False, {"sum"})
    return bool(rows.get(statistic_id))


async def async_has_long_term(hass: HomeAssistant, statistic_id: str) -> bool:
    """Whether the statistic has any hourly row (a sensor HA has had for an hour or more)."""
    if "recorder" not in hass.config.components:
        return True
    return await get_instance(hass).async_add_executor_job(_has_long_term, hass, statistic_id)


async def async_backfill(
    hass: HomeAssistant, statistic_id: str, readings: Iterable[tuple[int, int]]
) -> list[HourlyEnergy]:
    """Give a new energy sensor the hours the ledger's ``(ts, energy_wh)`` readings cover.

    Only for a statistic with no hourly row yet: the caller asks ``async_has_long_term``
    first, before it fetches the readings (see the module docstring). Returns the hours
    imported, the short-term row last.
    """
    if "recorder" not in hass.config.components:
        return []
    now = int(dt_util.utcnow().timestamp())
    known = sorted(reading for reading in readings if reading[0] < now)
    if not known:
        return []
    current_hour = now - now % HOUR
    registers = {h: wh for h, wh in hourly_registers(known).items() if h < current_hour}
    rows = hourly_statistics(registers, anchor_wh=known[0][1], anchor_sum=Decimal(0))
    if not rows:
        return []  # nothing before this hour: the recorder has it all from here on
    # The newest reading, as of the last five minutes that ended, continuing the last hour.
    slot = now - now % SHORT_TERM - SHORT_TERM
    (latest,) = hourly_statistics(
        {slot: known[-1][1]}, anchor_wh=registers[rows[-1].start], anchor_sum=rows[-1].sum
    )
    metadata = energy_statistic_metadata(statistic_id)
    async_import_statistics(hass, metadata, [_statistic(row) for row in rows])
    get_instance(hass).async_import_statistics(metadata, [_statistic(latest)], StatisticsShortTerm)
    return [*rows, latest]


def _statistic(row: HourlyEnergy) -> StatisticData:
    return StatisticData(
        start=datetime.fromtimestamp(row.start, UTC), state=float(row.state), sum=float(row.sum)
    )
