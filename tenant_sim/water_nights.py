"""A flat's cold-water meter through one night, read as a pulse counter reports it.

The register counts whole litres (one pulse each). A household draws water in the evening and
the morning and now and then at night (a flush at three); a leak adds a trickle that never
stops. Readings come every ``step_s`` seconds, as HA publishes an adopted pulse counter. The
night is the same for the same ``seed``: tests and the demo replay it exactly.
"""

from dataclasses import dataclass
import random

HOUR_S = 3600


@dataclass(frozen=True, kw_only=True)
class WaterNight:
    start_ts: int
    """Epoch seconds of the first reading (the evening)."""
    hours: int = 10
    step_s: int = 300
    leak_l_per_hour: int = 0
    """The trickle of a leak (0: no leak), spread evenly over the night."""
    seed: int = 1
    start_l: int = 100_000

    def readings(self) -> list[tuple[int, int]]:
        """(epoch seconds, register in L), one per step, oldest first."""
        draw = random.Random(self.seed)  # noqa: S311 - simulation, not secrets
        steps = self.hours * HOUR_S // self.step_s
        register, leaked_before = self.start_l, 0
        readings = [(self.start_ts, register)]
        for step in range(1, steps + 1):
            hour = (step * self.step_s) // HOUR_S
            household = self._household(draw, hour)
            # The leak's whole litres up to this instant: never a fraction, never lost.
            leaked = self.leak_l_per_hour * step * self.step_s // HOUR_S
            register += household + leaked - leaked_before
            leaked_before = leaked
            readings.append((self.start_ts + step * self.step_s, register))
        return readings

    def _household(self, draw: random.Random, hour: int) -> int:
        """Litres the household draws in one step, ``hour`` hours after the first reading."""
        evening, morning = hour < 2, hour >= self.hours - 2
        if evening or morning:
            return draw.choice((0, 0, 2, 5, 9, 30))
        return 6 if draw.random() < 0.02 else 0  # a flush in the night, now and then
