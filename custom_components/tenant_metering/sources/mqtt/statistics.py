"""Import store-and-forward backlogs into the long-term statistics of energy sensors.

A breaker that loses its backhaul goes offline (LWT), so the recorder compiles no hourly
statistics for its energy sensor while it is away; when it returns, the recorder books the
whole register jump into the hour of return. The backlog tells when that energy was really
used: we fill the missing hours with ``sum`` values continuing from the last statistic
before the outage. Those values are consistent with what the recorder computes afterwards
(it also continues from that statistic), so the energy dashboard shows the consumption in
the right hours, without a gap and without double counting. Hours that already have
statistics, and the current hour, are left to the recorder.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import logging
from typing import TYPE_CHECKING, Any, Final

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
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.util import dt as dt_util

from ...identifiers import ChannelEntityKey
from .backlog import HOUR, HourlyEnergy, hourly_registers, hourly_statistics

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

_LOGGER = logging.getLogger(__name__)

# How far back to look for the statistic an outage continues from, when newer rows exist.
ANCHOR_LOOKBACK: Final = timedelta(days=14)
# Backlog readings kept per channel while its energy sensor is not there (a week at 1/min).
MAX_WAITING_READINGS: Final = 10_080


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


class BacklogImporter:
    """Routes backlog readings to the statistic of the channel's energy sensor.

    A backlog can arrive before the energy sensor exists (first message after a restart),
    so readings wait here until the sensor registers its entity id.
    """

    def __init__(self, hass: HomeAssistant, entry: "ConfigEntry[Any]") -> None:
        self._hass = hass
        self._entry = entry
        self._entity_ids: dict[str, str] = {}
        self._waiting: dict[str, list[tuple[int, int]]] = {}

    @callback
    def attach(self, key: ChannelEntityKey, entity_id: str) -> None:
        self._entity_ids[key.unique_id] = entity_id
        if waiting := self._waiting.pop(key.unique_id, None):
            self._schedule(entity_id, waiting)

    @callback
    def detach(self, key: ChannelEntityKey) -> None:
        self._entity_ids.pop(key.unique_id, None)
        self._waiting.pop(key.unique_id, None)

    @callback
    def add(self, key: ChannelEntityKey, readings: list[tuple[int, int]]) -> None:
        if (entity_id := self._entity_ids.get(key.unique_id)) is not None:
            self._schedule(entity_id, readings)
            return
        waiting = self._waiting.setdefault(key.unique_id, [])
        waiting.extend(readings)
        # A sensor that never comes (disabled by the user) must not grow memory forever;
        # the newest readings matter most (the oldest hours may already be compiled).
        del waiting[:-MAX_WAITING_READINGS]

    @callback
    def _schedule(self, entity_id: str, readings: list[tuple[int, int]]) -> None:
        self._entry.async_create_task(
            self._hass, async_import_backlog(self._hass, entity_id, readings)
        )
