"""What a metering point measures, and in which integer unit its register counts.

The same four names as the ledger (docs/ledger-contract.md, "Readings"): electricity and heat
count Wh, water and gas count litres. Free of Home Assistant.
"""

from enum import StrEnum
from typing import Final


class Resource(StrEnum):
    """What a metering point measures."""

    ELECTRICITY = "electricity"
    WATER = "water"
    GAS = "gas"
    HEAT = "heat"


class RegisterUnit(StrEnum):
    """The integer unit of a point's cumulative register."""

    WH = "Wh"
    L = "L"


REGISTER_UNIT: Final[dict[Resource, RegisterUnit]] = {
    Resource.ELECTRICITY: RegisterUnit.WH,
    Resource.HEAT: RegisterUnit.WH,
    Resource.WATER: RegisterUnit.L,
    Resource.GAS: RegisterUnit.L,
}

READING_KEY: Final[dict[RegisterUnit, str]] = {
    RegisterUnit.WH: "energy_wh",
    RegisterUnit.L: "volume_l",
}
"""The key a reading's register goes under in the readings contract (v2)."""


def reading_key(resource: Resource) -> str:
    """``energy_wh`` for electricity and heat, ``volume_l`` for water and gas."""
    return READING_KEY[REGISTER_UNIT[resource]]
