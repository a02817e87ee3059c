"""Store-and-forward backlog arithmetic: de-duplication and hourly energy totals, no HA."""

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from ...units import kwh

HOUR: Final = 3600


class SeenMessages:
    """Bounded memory of the ``(ts, seq)`` keys of one device's recent messages.

    Backlogs overlap what was already received live; remembering the last few thousand keys
    (hours at typical intervals) keeps memory flat. The ledger de-duplicates on (point, ts)
    as well, so a key forgotten here costs a redundant publish, never a double count.
    """

    def __init__(self, capacity: int = 8192) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[tuple[int, int | None], None] = OrderedDict()

    def add(self, ts: int, seq: int | None) -> bool:
        """Remember a key; False if it was already known."""
        key = (ts, seq)
        if key in self._keys:
            return False
        self._keys[key] = None
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return True


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
