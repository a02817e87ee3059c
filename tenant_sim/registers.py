"""The building's registers over time: each circuit's load integrated into Wh, each room's
cold water counted in whole litres, the shared heater's heat in Wh.

Deterministic: the same building, start time and steps give the same registers, so the live
demo, the simulated month and the tests agree. The incomer sums every other circuit plus
losses, as a real incomer would; the heat meter follows the rooms' water: the hot share of
every litre, heated, plus the tank's standby losses. Water and heat do not depend on the
integration step: each hour's litres are whole and spread evenly over the hour.
"""

from dataclasses import dataclass
from typing import Literal
import zlib

from tenant_sim.building import (
    HEAT_WH_PER_HOT_LITRE,
    HEATER_STANDBY_WH_PER_HOUR,
    HOT_WATER_PERCENT,
    LOSS_FACTOR,
    Building,
    Circuit,
    WaterMeter,
)
from tenant_sim.load_profiles import SECONDS_PER_HOUR, power_factor

MAX_STEP_S = 60
"""Integration step: the load profiles' noise changes once a minute."""
RegisterKey = Literal["energy_wh", "volume_l"]


@dataclass(frozen=True, kw_only=True)
class CircuitReading:
    """What a meter reports for a circuit at one moment."""

    point_id: str
    ts: int
    energy_wh: int
    power_w: float
    voltage: float
    current: float
    power_factor: float

    @property
    def register(self) -> tuple[RegisterKey, int]:
        """The readings contract's register key and value."""
        return "energy_wh", self.energy_wh


@dataclass(frozen=True, kw_only=True)
class MeterReading:
    """A water counter's litres or the heat meter's Wh at one moment."""

    point_id: str
    ts: int
    key: RegisterKey
    value: int

    @property
    def register(self) -> tuple[RegisterKey, int]:
        return self.key, self.value


Reading = CircuitReading | MeterReading


class BuildingRegisters:
    """Cumulative Wh per circuit, advanced in time; circuits switched off draw nothing."""

    def __init__(self, building: Building, start_ts: int, step_s: int = MAX_STEP_S) -> None:
        """``step_s`` above a minute trades accuracy for speed (history of past weeks)."""
        self.building = building
        self.ts = start_ts
        self.step_s = step_s
        # Registers start where a used meter would be, different per circuit.
        self._wh = {
            c.point_id: 100_000.0 + 7_919.0 * index for index, c in enumerate(building.circuits)
        }
        self.off: set[str] = set()
        """Points whose relay is open (a cut-off room)."""
        self._start_ts = start_ts
        self._hour_ts = start_ts
        """Start of the water hour in progress (hours run from the start); the litres before it
        are summed in ``_litres_before``."""
        self._litres_before = {meter.point_id: 0 for meter in building.water_meters}

    def power_w(self, circuit: Circuit, ts: float) -> float:
        if circuit.point_id in self.off:
            return 0.0
        if circuit.load is not None:
            return circuit.load.power_w(ts)
        loads = [c for c in self.building.circuits if not c.is_incomer]
        return LOSS_FACTOR * sum(self.power_w(c, ts) for c in loads)

    def advance(self, to_ts: int) -> None:
        """Integrate every circuit's power from the current time to ``to_ts``."""
        while self.ts < to_ts:
            step = min(self.step_s, to_ts - self.ts)
            middle = self.ts + step / 2
            for circuit in self.building.circuits:
                self._wh[circuit.point_id] += self.power_w(circuit, middle) * step / 3600
            self.ts += step

    def _litres_since_start(self, meter: WaterMeter) -> int:
        """Litres the meter counted from the start to now (the hour in progress pro rata)."""
        while self._hour_ts + SECONDS_PER_HOUR <= self.ts:
            for each in self.building.water_meters:
                self._litres_before[each.point_id] += each.profile.litres_in_hour(self._hour_ts)
            self._hour_ts += SECONDS_PER_HOUR
        in_hour = meter.profile.litres_in_hour(self._hour_ts)
        return self._litres_before[meter.point_id] + in_hour * (self.ts - self._hour_ts) // (
            SECONDS_PER_HOUR
        )

    def volume_l(self, meter: WaterMeter) -> int:
        """The pulse counter's register in whole litres (1 L a pulse)."""
        return meter.start_l + self._litres_since_start(meter)

    def heat_wh(self) -> int:
        """The heat meter's register: the hot share of the rooms' water, heated, plus the
        tank's standby losses since the start (whole Wh, a register that never goes back)."""
        litres = sum(self._litres_since_start(meter) for meter in self.building.water_meters)
        hot_wh = litres * HOT_WATER_PERCENT * HEAT_WH_PER_HOT_LITRE // 100
        standby_wh = HEATER_STANDBY_WH_PER_HOUR * (self.ts - self._start_ts) // SECONDS_PER_HOUR
        return self.building.heat_meter.start_wh + hot_wh + standby_wh

    def energy_wh(self, circuit: Circuit) -> int:
        """The register as the meter reports it, in its resolution (Modbus: 10 Wh steps)."""
        wh = int(self._wh[circuit.point_id])
        return wh - wh % circuit.resolution_wh

    def reading(self, circuit: Circuit) -> CircuitReading:
        power = self.power_w(circuit, self.ts)
        voltage = 229.0 + zlib.crc32(f"{circuit.point_id}@{self.ts // 60}".encode()) % 40 / 10
        factor = power_factor(power)
        return CircuitReading(
            point_id=circuit.point_id,
            ts=self.ts,
            energy_wh=self.energy_wh(circuit),
            power_w=round(power, 1),
            voltage=round(voltage, 1),
            current=round(power / (voltage * factor), 2) if power else 0.0,
            power_factor=factor,
        )

    def readings(self) -> list[CircuitReading]:
        return [self.reading(circuit) for circuit in self.building.circuits]

    def meter_readings(self) -> list[MeterReading]:
        """Every water counter's and the heat meter's reading now."""
        water = [
            MeterReading(point_id=m.point_id, ts=self.ts, key="volume_l", value=self.volume_l(m))
            for m in self.building.water_meters
        ]
        heat = MeterReading(
            point_id=self.building.heat_meter.point_id,
            ts=self.ts,
            key="energy_wh",
            value=self.heat_wh(),
        )
        return [*water, heat]

    def all_readings(self) -> list[Reading]:
        """Every point's reading now: circuits, water counters and the heat meter."""
        return [*self.readings(), *self.meter_readings()]
