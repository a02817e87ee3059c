"""Energy units shared by every source, exact and free of Home Assistant.

Registers are integer Wh; HA shows kWh. Decimal only, never float.
"""

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

WH_PER_KWH: Final = Decimal(1000)


def kwh(energy_wh: int) -> Decimal:
    """An integer Wh register as exact kWh."""
    return Decimal(energy_wh) / WH_PER_KWH


def to_wh(value: Decimal) -> int:
    """Exact Wh → integer Wh, rounding half up (registers with sub-Wh steps, f32 kWh)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
