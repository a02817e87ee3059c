"""Whether a well-formed register reading is physically possible, in exact integers.

A register that jumps by 10^14 Wh, or a reading stamped next century, is well typed but cannot
be real: taken, it would become giant consumption (or hide every later reading). Such readings
are quarantined instead of stored (BILLING.md, "Implausible readings"). A register that *falls*
is not judged here: that is a reset or a meter replacement, which rating handles explicitly.
"""

from dataclasses import dataclass
from enum import StrEnum

EARLIEST_TS = 946_684_800
"""2000-01-01T00:00:00Z: no meter this ledger reads was running before."""
MAX_AHEAD_S = 86_400
"""How far a reading may be stamped ahead of the ledger's clock (device clock drift)."""
DEFAULT_MAX_POWER_W = 100_000
"""A point's default maximum average power: 100 kW, far above any room circuit."""
REGISTER_STEP_WH = 1
"""Slack of one register step, so a single Wh over a very short interval is never refused."""


class Implausible(StrEnum):
    """Why a reading was quarantined."""

    FUTURE = "future"
    """Stamped more than MAX_AHEAD_S ahead of the ledger's clock."""
    BEFORE_2000 = "before_2000"
    ABOVE_MAX_POWER = "above_max_power"
    """The register rose faster than the point's maximum power allows."""


@dataclass(frozen=True, slots=True)
class Register:
    """A stored or incoming register value: epoch seconds and whole Wh."""

    ts: int
    energy_wh: int


@dataclass(frozen=True, slots=True)
class Verdict:
    reason: Implausible
    detail: str


def check_time(ts: int, now_s: int) -> Verdict | None:
    if ts < EARLIEST_TS:
        return Verdict(Implausible.BEFORE_2000, f"ts {ts} is before 2000-01-01")
    if ts > now_s + MAX_AHEAD_S:
        return Verdict(
            Implausible.FUTURE, f"ts {ts} is {ts - now_s} s ahead of the ledger's clock ({now_s})"
        )
    return None


def check_rise(earlier: Register, later: Register, max_power_w: int) -> Verdict | None:
    """Whether the rise from ``earlier`` to ``later`` exceeds ``max_power_w`` on average.

    ``delta_wh * 3600 > max_power_w * elapsed_s + slack`` compares Wh·s/h exactly.
    """
    delta_wh = later.energy_wh - earlier.energy_wh
    elapsed_s = later.ts - earlier.ts
    if delta_wh <= 0 or elapsed_s <= 0:
        return None
    if delta_wh * 3600 <= max_power_w * elapsed_s + REGISTER_STEP_WH * 3600:
        return None
    return Verdict(
        Implausible.ABOVE_MAX_POWER,
        f"{delta_wh} Wh in {elapsed_s} s (from {earlier.ts} to {later.ts}) is an average of "
        f"{delta_wh * 3600 // elapsed_s} W, above the point's maximum of {max_power_w} W",
    )


def check_reading(
    reading: Register,
    *,
    previous: Register | None,
    following: Register | None,
    max_power_w: int,
    now_s: int,
) -> Verdict | None:
    """The first reason ``reading`` is impossible between its stored neighbours, if any.

    The first reading of a point has no neighbour: only its time is checked.
    """
    verdict = check_time(reading.ts, now_s)
    if verdict is None and previous is not None:
        verdict = check_rise(previous, reading, max_power_w)
    if verdict is None and following is not None:
        verdict = check_rise(reading, following, max_power_w)
    return verdict
