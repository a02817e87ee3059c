"""Energy by the hour: the long-term statistics rows of an energy sensor, from its registers.

Free of Home Assistant (tested and benchmarked without it); exact Decimal kWh, integer Wh.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from .units import kwh

HOUR: Final = 3600


@dataclass(frozen=True, kw_only=True)
class HourlyEnergy:
    """One hour of long-term statistics for an energy sensor, in kWh."""

    start: int  # UTC epoch seconds, top of the hour
    state: Decimal
    sum: Decimal


def hourly_registers(readings: Iterable[tuple[int, int]]) -> dict[int, int]:
    """The last register (Wh) seen in each UTC hour, from ``(ts, energy_wh)`` readings."""
    last: dict[int, tuple[int, int]] = {}
    for ts, energy_wh in readings:
        hour = ts - ts % HOUR
        if hour not in last or ts >= last[hour][0]:
            last[hour] = (ts, energy_wh)
    return {hour: energy_wh for hour, (_, energy_wh) in sorted(last.items())}


def hourly_statistics(
    registers: dict[int, int], *, anchor_wh: int, anchor_sum: Decimal
) -> list[HourlyEnergy]:
    """Hourly ``state``/``sum`` rows continuing from an anchor.

    ``anchor_wh``/``anchor_sum`` are the register and running sum of the last statistic
    before these hours. A register that
    goes down is a counter reset, counted from zero the way HA's recorder counts a
    ``total_increasing`` sensor.
    """
    rows: list[HourlyEnergy] = []
    previous = anchor_wh
    total = anchor_sum
    for hour, energy_wh in sorted(registers.items()):
        total += kwh(energy_wh - previous) if energy_wh >= previous else kwh(energy_wh)
        previous = energy_wh
        rows.append(HourlyEnergy(start=hour, state=kwh(energy_wh), sum=total))
    return rows
