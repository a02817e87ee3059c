"""Turning a meter's energy register into the integer Wh the ledger bills from.

Three things can be wrong with a raw counter value, and each is handled explicitly:

* **f32 noise**: a float register can read one ULP lower than last time. A decrease within
  the register's resolution is clamped to the previous value, so the register reading
  never goes down because of float rounding.
* **Spikes** (a garbled or half-updated read, the jumps HA's Modbus users report): an
  increase larger than the channel could physically deliver since the last accepted value
  — rated current * nominal voltage * phases * elapsed hours * ``OVERLOAD_MARGIN``, plus one
  register step — is rejected and logged. If the meter keeps reporting a consistent new
  level (``CONFIRM_AFTER`` reads in a row: a replaced or re-programmed meter) the new level
  is accepted as a discontinuity, flagged like a reset.
* **Resets**: a real decrease (meter cleared or replaced) is accepted and flagged, never
  dropped silently and never turned into negative consumption; the ledger starts a new
  baseline.
"""

from dataclasses import dataclass
from decimal import Decimal
import logging

from ....units import to_wh

_LOGGER = logging.getLogger(__name__)

# IEC 60898-1 breakers carry 1.45 * In for up to an hour before tripping; the mains may sit
# 10 % above nominal. Anything beyond 1.45 * 1.1 ≈ 1.6 * rated power is not consumption.
OVERLOAD_MARGIN = Decimal("1.6")
CONFIRM_AFTER = 3
_SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True, kw_only=True)
class EnergyVerdict:
    """What to report for one read of the energy register."""

    energy_wh: int | None
    counter_reset: bool = False
    rejected: bool = False


@dataclass(frozen=True, kw_only=True)
class _Accepted:
    energy_wh: int
    at: float


class EnergyGuard:
    """Per-channel memory of the last accepted counter value; one instance per channel."""

    def __init__(self, *, name: str, max_power_w: Decimal) -> None:
        self._name = name
        self._max_power_w = max_power_w
        self._last: _Accepted | None = None
        self._candidate: _Accepted | None = None
        self._streak = 0

    def _allowance(self, since: float, now: float, step_wh: Decimal) -> Decimal:
        hours = Decimal(str(max(now - since, 0.0))) / _SECONDS_PER_HOUR
        return self._max_power_w * OVERLOAD_MARGIN * hours + step_wh + 1

    def check(self, value_wh: Decimal, *, step_wh: Decimal, now: float) -> EnergyVerdict:
        """Judge a decoded counter value read at monotonic time ``now`` (seconds)."""
        reading = _Accepted(energy_wh=to_wh(value_wh), at=now)
        last = self._last
        if last is None:
            return self._accept(reading)
        delta = reading.energy_wh - last.energy_wh
        if delta < 0 and -delta <= step_wh + 1:
            return self._accept(_Accepted(energy_wh=last.energy_wh, at=now))
        if delta < 0:
            _LOGGER.warning(
                "%s: energy counter went down from %s Wh to %s Wh; treated as a reset",
                self._name,
                last.energy_wh,
                reading.energy_wh,
            )
            return self._accept(reading, counter_reset=True)
        if delta <= self._allowance(last.at, now, step_wh):
            return self._accept(reading)
        return self._reject(reading, step_wh)

    def _accept(self, reading: _Accepted, *, counter_reset: bool = False) -> EnergyVerdict:
        self._last = reading
        self._candidate = None
        self._streak = 0
        return EnergyVerdict(energy_wh=reading.energy_wh, counter_reset=counter_reset)

    def _reject(self, reading: _Accepted, step_wh: Decimal) -> EnergyVerdict:
        candidate = self._candidate
        consistent = candidate is not None and (
            0
            <= reading.energy_wh - candidate.energy_wh
            <= self._allowance(candidate.at, reading.at, step_wh)
        )
        self._streak = self._streak + 1 if consistent else 1
        self._candidate = reading
        if self._streak >= CONFIRM_AFTER:
            _LOGGER.warning(
                "%s: energy counter settled at %s Wh after a jump; accepted as a new baseline",
                self._name,
                reading.energy_wh,
            )
            return self._accept(reading, counter_reset=True)
        assert self._last is not None
        _LOGGER.warning(
            "%s: rejected energy spike %s Wh → %s Wh (more than %s W could deliver)",
            self._name,
            self._last.energy_wh,
            reading.energy_wh,
            self._max_power_w,
        )
        return EnergyVerdict(energy_wh=None, rejected=True)
