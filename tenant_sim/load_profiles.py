"""Day/night load profiles for simulated circuits and water meters: deterministic watts for a
time of day, whole litres for an hour."""

from dataclasses import dataclass
from datetime import UTC, datetime
import math
import random
from typing import Final

# Relative demand per hour of the local day (0..23), peak = 1.0.
_HOURLY_SHAPES: Final[dict[str, tuple[float, ...]]] = {
    # A room: little at night (fridge, standby), a morning peak, a long evening peak.
    "room": (
        0.08, 0.07, 0.07, 0.07, 0.07, 0.10, 0.35, 0.60, 0.45, 0.20, 0.15, 0.15,
        0.20, 0.18, 0.15, 0.15, 0.25, 0.45, 0.80, 1.00, 0.95, 0.80, 0.50, 0.20,
    ),
    # A shop or market stall: open 9 to 19.
    "shop": (
        0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.10, 0.50, 0.90, 1.00, 1.00,
        0.95, 0.95, 1.00, 1.00, 0.95, 0.90, 0.70, 0.20, 0.05, 0.05, 0.05, 0.05,
    ),
    # Corridor lights and a pump: on at night, a little during the day.
    "common": (
        1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 0.40, 0.20, 0.20, 0.20, 0.20, 0.20,
        0.20, 0.20, 0.20, 0.20, 0.30, 0.60, 0.90, 1.00, 1.00, 1.00, 1.00, 1.00,
    ),
}  # fmt: skip
PROFILE_KINDS: Final = tuple(_HOURLY_SHAPES)


@dataclass(frozen=True, kw_only=True)
class LoadProfile:
    """A circuit's demand: a daily shape scaled to its peak, with per-circuit noise."""

    kind: str
    peak_w: float
    seed: int
    utc_offset_h: float = 0.0

    def power_w(self, ts: float) -> float:
        """Watts drawn at epoch second ``ts`` (same inputs, same answer)."""
        shape = _HOURLY_SHAPES[self.kind]
        moment = datetime.fromtimestamp(ts, UTC)
        local_h = (moment.hour + moment.minute / 60 + self.utc_offset_h) % 24
        hour = int(local_h)
        fraction = local_h - hour
        level = shape[hour] * (1 - fraction) + shape[(hour + 1) % 24] * fraction
        # Appliances switching: noise that changes every minute, repeatable per circuit.
        noise = random.Random(hash((self.seed, int(ts // 60)))).uniform(0.75, 1.25)  # noqa: S311 - simulation
        return max(0.0, self.peak_w * level * noise)


# Litres a hostel room draws in each hour of the local day (0..23): a shower in the morning
# (6-9 h) and in the evening (18-22 h), taps and the toilet in between, nothing at night.
_WATER_LITRES_PER_HOUR: Final = (
    0, 0, 0, 0, 0, 0, 25, 45, 30, 8, 4, 4, 6, 5, 3, 3, 5, 8, 22, 40, 35, 20, 8, 2,
)  # fmt: skip
SECONDS_PER_HOUR: Final = 3600


@dataclass(frozen=True, kw_only=True)
class WaterProfile:
    """A room's water draw: whole litres per hour, the daily shape scaled by ``people`` (a
    room's occupancy, in percent of one person) with per-hour noise, repeatable per seed."""

    seed: int
    percent: int
    utc_offset_h: int = 0

    def litres_in_hour(self, hour_start_ts: int) -> int:
        """Litres drawn in the hour starting at epoch second ``hour_start_ts``."""
        hour_index = hour_start_ts // SECONDS_PER_HOUR
        local_hour = (hour_index + self.utc_offset_h) % 24
        base = _WATER_LITRES_PER_HOUR[local_hour] * self.percent
        if not base:
            return 0
        # A shower runs longer or shorter: -30 % to +30 %, whole litres, repeatable.
        swing = random.Random(self.seed * 1_000_003 + hour_index).randint(70, 130)  # noqa: S311 - simulation
        return base * swing // 10_000


def profile_for(index: int, seed: int = 0) -> LoadProfile:
    """A varied but repeatable profile for the ``index``-th circuit of a building."""
    rng = random.Random(seed * 7919 + index)  # noqa: S311 - simulation, not secrets
    kind = PROFILE_KINDS[0] if index % 10 < 7 else PROFILE_KINDS[1 + index % 2]
    peak = {"room": 1800.0, "shop": 2500.0, "common": 600.0}[kind]
    return LoadProfile(kind=kind, peak_w=peak * rng.uniform(0.5, 1.3), seed=seed * 100003 + index)


def power_factor(power_w: float) -> float:
    """A plausible power factor: resistive loads near 1, light loads lower."""
    return round(0.80 + 0.19 * (1 - math.exp(-power_w / 400)), 2)
