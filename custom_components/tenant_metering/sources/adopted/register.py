"""An adopted sensor's state as an integer register of its resource, exactly.

Every unit HA offers for the sensor's device class converts to the resource's register unit
(Wh or L) by an exact factor (a US gallon is 3.785411784 L by definition, a cubic foot
28.316846592 L, a megajoule 2500/9 Wh), multiplied as a Fraction and rounded half up once:
the register is cumulative, so the rounding never adds up. Anything else is a ``Skipped``
with the reason, never a guess.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Final

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfEnergy, UnitOfVolume

from ...resources import Resource
from ...units import round_half_up

WH_PER_UNIT: Final[dict[str, Fraction]] = {
    UnitOfEnergy.WATT_HOUR: Fraction(1),
    UnitOfEnergy.KILO_WATT_HOUR: Fraction(1000),
    UnitOfEnergy.MEGA_WATT_HOUR: Fraction(1_000_000),
    UnitOfEnergy.MEGA_JOULE: Fraction(1_000_000, 3600),
    UnitOfEnergy.GIGA_JOULE: Fraction(1_000_000_000, 3600),
}
L_PER_UNIT: Final[dict[str, Fraction]] = {
    UnitOfVolume.LITERS: Fraction(1),
    UnitOfVolume.CUBIC_METERS: Fraction(1000),
    UnitOfVolume.GALLONS: Fraction("3.785411784"),
    UnitOfVolume.CUBIC_FEET: Fraction("28.316846592"),
    UnitOfVolume.CENTUM_CUBIC_FEET: Fraction("2831.6846592"),
}
FACTORS: Final[dict[Resource, dict[str, Fraction]]] = {
    Resource.ELECTRICITY: WH_PER_UNIT,
    Resource.HEAT: WH_PER_UNIT,
    Resource.WATER: L_PER_UNIT,
    Resource.GAS: L_PER_UNIT,
}

# The HA device classes an adopted sensor may have, and what each may meter: an energy
# sensor is electricity unless the installer says it is a heat meter's.
RESOURCES_OF_DEVICE_CLASS: Final[dict[str, tuple[Resource, ...]]] = {
    "energy": (Resource.ELECTRICITY, Resource.HEAT),
    "water": (Resource.WATER,),
    "gas": (Resource.GAS,),
}
# A cumulative register: HA's state classes for meter totals.
REGISTER_STATE_CLASSES: Final = frozenset({"total", "total_increasing"})

MAX_REGISTER: Final = 2**53
"""The largest register the readings contract carries (docs/ledger-contract.md)."""
_MAX_DIGITS: Final = 24
"""More integer digits than any register in any unit: refused before converting, so a state
like ``1e999999999`` costs nothing."""
_MAX_PLACES: Final = 40
"""More decimal places than any meter shows: refused before converting, so a state like
``1e-999999999`` (a huge Fraction denominator) costs nothing either."""


@dataclass(frozen=True, kw_only=True)
class Skipped:
    """A state that is not a register reading, and why."""

    why: str


def register_of(state: str, unit: str | None, resource: Resource) -> int | Skipped:
    """The state as an integer register (Wh or L) of ``resource``, or why it is skipped."""
    if state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return Skipped(why=f"no reading ({state})")
    factor = FACTORS[resource].get(unit or "")
    if factor is None:
        units = ", ".join(FACTORS[resource])
        return Skipped(why=f"unit {unit!r} is not one of {units}")
    try:
        value = Decimal(state)
    except (InvalidOperation, ValueError):
        return Skipped(why="not a number")
    if not value.is_finite():
        return Skipped(why="not a finite number")
    if value < 0:
        return Skipped(why="negative")
    if value and value.adjusted() >= _MAX_DIGITS:
        return Skipped(why="too large for a register")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_MAX_PLACES:
        return Skipped(why=f"more than {_MAX_PLACES} decimal places")
    register = round_half_up(Fraction(value) * factor)
    if register > MAX_REGISTER:
        return Skipped(why="too large for a register")
    return register
