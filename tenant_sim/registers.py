"""The building's energy registers over time: each circuit's load integrated into Wh.

Deterministic: the same building, start time and steps give the same registers, so the live
demo, the simulated month and the tests agree. The incomer sums every other circuit plus
losses, as a real incomer would.
"""

from dataclasses import dataclass
import zlib

from tenant_sim.building import LOSS_FACTOR, Building, Circuit
from tenant_sim.load_profiles import power_factor

MAX_STEP_S = 60
"""Integration step: the load profiles' noise changes once a minute."""


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
