"""Whether a well-formed register reading is physically possible, in exact integers.

A register that jumps by 10^14 Wh, or a reading stamped next century, is well typed but cannot
be real: taken, it would become giant consumption (or hide every later reading). Such readings
are quarantined instead of stored (BILLING.md, "Implausible readings"). A register that *falls*
is not judged here: that is a reset or a meter replacement, which rating handles explicitly.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from tenant_ledger.billing.resources import (
    Resource,
    Unit,
    default_max_per_hour,
    readings_key,
    unit_mismatch,
)

EARLIEST_TS = 946_684_800
"""2000-01-01T00:00:00Z: no meter this ledger reads was running before."""
MAX_AHEAD_S = 86_400
"""How far a reading may be stamped ahead of the ledger's clock (device clock drift)."""
DEFAULT_MAX_POWER_W = default_max_per_hour(Resource.ELECTRICITY)
"""An electricity point's default maximum average power: 100 kW, far above any room circuit."""
REGISTER_STEP = 1
"""Slack of one register step, so a single Wh (or L) over a very short interval is never
refused."""
UNREGISTERED: dict[Unit, Resource] = {Unit.WH: Resource.ELECTRICITY, Unit.L: Resource.GAS}
"""What a reading of a point not registered yet is checked as: electricity as always for Wh,
and for litres gas, the larger of the two litre defaults (water's is smaller)."""


class Implausible(StrEnum):
    """Why a reading was quarantined."""

    FUTURE = "future"
    """Stamped more than MAX_AHEAD_S ahead of the ledger's clock."""
    BEFORE_2000 = "before_2000"
    ABOVE_MAX_POWER = "above_max_power"
    """The register rose faster than the point's maximum power (or flow) allows."""
    WRONG_UNIT = "wrong_unit"
    """The register's unit is not the point's resource's (litres for an electricity point)."""


class Register(NamedTuple):
    """A stored or incoming register value: epoch seconds and whole base units (Wh or L).

    A named tuple: every stored reading a batch needs becomes one, and a tuple is built several
    times faster than a dataclass.
    """

    ts: int
    energy_wh: int


@dataclass(frozen=True, slots=True)
class PointLimit:
    """What a point measures and the most base units per hour it may count."""

    resource: Resource
    max_per_hour: int
    registered: bool = True
    """False: no point has this id yet, and ``resource`` is only the default for the unit."""

    @classmethod
    def unregistered(cls, unit: Unit) -> "PointLimit":
        resource = UNREGISTERED[unit]
        return cls(resource, default_max_per_hour(resource), registered=False)


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


def check_rise(
    earlier: Register, later: Register, max_per_hour: int, unit: Unit = Unit.WH
) -> Verdict | None:
    """Whether the rise from ``earlier`` to ``later`` exceeds ``max_per_hour`` on average.

    ``delta * 3600 > max_per_hour * elapsed_s + slack`` compares units·s/h exactly.
    """
    delta = later.energy_wh - earlier.energy_wh
    elapsed_s = later.ts - earlier.ts
    if delta <= 0 or elapsed_s <= 0:
        return None
    if delta * 3600 <= max_per_hour * elapsed_s + REGISTER_STEP * 3600:
        return None
    rate = "W" if unit is Unit.WH else f"{unit}/h"
    return Verdict(
        Implausible.ABOVE_MAX_POWER,
        f"{delta} {unit} in {elapsed_s} s (from {earlier.ts} to {later.ts}) is an average of "
        f"{delta * 3600 // elapsed_s} {rate}, above the point's maximum of {max_per_hour} {rate}",
    )


def check_reading(
    reading: Register,
    *,
    previous: Register | None,
    following: Register | None,
    max_power_w: int,
    now_s: int,
    unit: Unit = Unit.WH,
) -> Verdict | None:
    """The first reason ``reading`` is impossible between its stored neighbours, if any.

    The first reading of a point has no neighbour: only its time is checked.
    """
    verdict = check_time(reading.ts, now_s)
    if verdict is None and previous is not None:
        verdict = check_rise(previous, reading, max_power_w, unit)
    if verdict is None and following is not None:
        verdict = check_rise(reading, following, max_power_w, unit)
    return verdict


def check_unit(
    unit: Unit, limit: PointLimit, point_id: str, stored_unit: Unit | None = None
) -> Verdict | None:
    """Whether a reading in ``unit`` can belong to the point at all.

    ``stored_unit``: for a point not registered yet, the unit of its stored readings, if any.
    """
    if not limit.registered:
        if stored_unit is None or stored_unit is unit:
            return None
        return Verdict(
            Implausible.WRONG_UNIT,
            f"{readings_key(unit)} reading for point {point_id} (not registered yet) whose "
            f"readings are in {stored_unit}",
        )
    mismatch = unit_mismatch(unit, limit.resource, point_id)
    return None if mismatch is None else Verdict(Implausible.WRONG_UNIT, mismatch)
