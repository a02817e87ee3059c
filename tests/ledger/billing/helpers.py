"""Small builders shared by the billing tests: instants, readings and tariffs from text."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tenant_ledger.billing import EnergyLine, Reading, Tariff, TariffSchedule, parse_tariff

BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str) -> datetime:
    """An aware datetime from ISO-8601 text with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, text
    return value


def reading(point_id: str, ts: str, energy_wh: int) -> Reading:
    return Reading(point_id=point_id, ts=at(ts), energy_wh=energy_wh)


def tariff(energy: Mapping[str, object], **fields: object) -> Tariff:
    """A Berlin EUR tariff with ``energy``; other top-level fields as keyword arguments."""
    return parse_tariff(
        {"currency": "EUR", "timezone": "Europe/Berlin", "energy": energy, **fields}
    )


def flat(rate: str, **fields: object) -> TariffSchedule:
    return TariffSchedule.single(tariff({"type": "flat", "rate": rate}, **fields))


def energy_by_band(lines: Iterable[EnergyLine]) -> dict[tuple[str, Decimal], int]:
    """(band, unit price) -> Wh of a rating's energy lines."""
    return {(line.band, line.unit_price): line.energy_wh for line in lines}
