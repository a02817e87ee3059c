"""New channels' statistics from the ledger's readings, so HA has history from the first hour.

The ledger may hold months of a channel's readings (a building that ran before Home Assistant
joined, the demo's month) while HA starts each new energy sensor with no statistics at all,
so the energy dashboard says "No statistics found". For every ledger point whose energy
sensor HA has and whose statistic has no hourly row yet, this imports what the ledger holds
(``statistics.async_backfill``); a statistic that has hours is never touched again.

Only Wh points are filled (electricity, and heat: an energy sensor too). An adopted water or
gas meter keeps the statistics HA's recorder compiles from its own states: its unit is the
sensor's (m³, gal, …), not the ledger's litres.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
import logging
from typing import Final

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..identifiers import KEY_ENERGY, adopted_registry_id, channel_key_of_point
from ..resources import REGISTER_UNIT, RegisterUnit
from ..runtime import loaded_runtimes
from ..sources.adopted.point import AdoptedPoint
from ..statistics import async_backfill, async_has_long_term
from .client import LedgerClient

_LOGGER = logging.getLogger(__name__)
BACKFILL_SPAN: Final = timedelta(days=31)
"""How far back a new sensor's history goes: a billing period."""
_DATA_KEY: Final = f"{DOMAIN}_backfill"


@dataclass
class _Backfills:
    """One fill at a time (HA's start and the energy action may overlap), and the statistics
    filled since HA started: the recorder stores imports a moment later, so its own answer
    ("has hours") cannot tell yet."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    filled: set[str] = field(default_factory=set)


@callback
def energy_sensor_of_point(hass: HomeAssistant, point_id: str) -> str | None:
    """The entity id of the energy sensor (Wh register) behind a ledger point, if HA has it."""
    registry = er.async_get(hass)
    if (key := channel_key_of_point(point_id, KEY_ENERGY)) is not None:
        return registry.async_get_entity_id(Platform.SENSOR, DOMAIN, key.unique_id)
    if (registry_id := adopted_registry_id(point_id)) is not None:
        adopted = [
            point for point in loaded_runtimes(hass, AdoptedPoint) if point.point == point_id
        ]
        if any(REGISTER_UNIT[point.resource] is not RegisterUnit.WH for point in adopted):
            return None
        entry = registry.async_get(registry_id)
        return None if entry is None else entry.entity_id
    return None


async def async_backfill_statistics(hass: HomeAssistant, client: LedgerClient) -> dict[str, int]:
    """Import the ledger's history of every new energy sensor; returns hours per sensor."""
    if "recorder" not in hass.config.components:
        return {}
    backfills: _Backfills = hass.data.setdefault(_DATA_KEY, _Backfills())
    async with backfills.lock:
        imported = await _async_fill(hass, client, backfills.filled)
    if imported:
        _LOGGER.info("Statistics of %d new energy sensors filled from the ledger", len(imported))
    return imported


async def _async_fill(
    hass: HomeAssistant, client: LedgerClient, filled: set[str]
) -> dict[str, int]:
    until = int(dt_util.utcnow().timestamp())
    since = until - int(BACKFILL_SPAN.total_seconds())
    imported: dict[str, int] = {}
    for point_id in await client.point_ids():
        entity_id = energy_sensor_of_point(hass, point_id)
        if entity_id is None or entity_id in filled or await async_has_long_term(hass, entity_id):
            continue
        readings = await client.readings(point_id, since=since, until=until)
        if rows := await async_backfill(hass, entity_id, readings):
            filled.add(entity_id)
            imported[entity_id] = len(rows)
    return imported
