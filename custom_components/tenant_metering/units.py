"""Units shared by every source, exact and free of Home Assistant.

Registers are integer Wh (electricity, heat) or L (water, gas); HA shows kWh. Decimal or
Fraction only, never float.
"""

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Final

WH_PER_KWH: Final = Decimal(1000)


def kwh(energy_wh: int) -> Decimal:
    """An integer Wh register as exact kWh."""
    return Decimal(energy_wh) / WH_PER_KWH


def to_wh(value: Decimal) -> int:
    """Exact Wh → integer Wh, rounding half up (registers with sub-Wh steps, f32 kWh)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def round_half_up(value: Fraction) -> int:
    """An exact non-negative quantity as an integer register, rounding half up.

    Fraction, because some factors do not end in decimal (1 MJ = 2500/9 Wh).
    """
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)
