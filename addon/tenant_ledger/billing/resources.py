"""What a metering point measures: electricity, water, gas or heat, each in its own units.

Storage keeps every register as a whole number of the resource's base unit (Wh or L), and
every billing unit is 1000 base units (kWh, m³). So the tariff arithmetic that prices a kWh as
1000 Wh prices a m³ of water as 1000 L unchanged, exactly, without floats.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Resource(StrEnum):
    ELECTRICITY = "electricity"
    WATER = "water"
    GAS = "gas"
    HEAT = "heat"


class Unit(StrEnum):
    """The base unit a register counts in (integer in storage)."""

    WH = "Wh"
    L = "L"


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """How a resource is read, stored and billed."""

    base_unit: Unit
    readings_key: str
    """The register's key in a readings message (docs/ledger-contract.md, "Readings")."""
    billing_unit: str
    default_max_per_hour: int
    """Plausibility: the most base units a point may count in an hour unless set otherwise."""


BASE_UNITS_PER_BILLING_UNIT: Final = 1000

UNIT_SPECS: Final[dict[Resource, UnitSpec]] = {
    Resource.ELECTRICITY: UnitSpec(Unit.WH, "energy_wh", "kWh", 100_000),
    Resource.HEAT: UnitSpec(Unit.WH, "energy_wh", "kWh", 200_000),
    Resource.WATER: UnitSpec(Unit.L, "volume_l", "m³", 6_000),
    Resource.GAS: UnitSpec(Unit.L, "volume_l", "m³", 16_000),
}

READINGS_KEYS: Final[dict[str, Unit]] = {
    spec.readings_key: spec.base_unit for spec in UNIT_SPECS.values()
}
"""Each register key of a readings message and the unit it carries."""

RESOURCES: Final = tuple(resource.value for resource in Resource)


def base_unit(resource: Resource) -> Unit:
    return UNIT_SPECS[resource].base_unit


def billing_unit(resource: Resource) -> str:
    return UNIT_SPECS[resource].billing_unit


def default_max_per_hour(resource: Resource) -> int:
    return UNIT_SPECS[resource].default_max_per_hour


def format_usage(base_units: int, resource: Resource) -> str:
    """Whole base units in the billing unit with three decimals: 12345 L -> '12.345 m³'."""
    sign = "-" if base_units < 0 else ""
    whole, part = divmod(abs(base_units), BASE_UNITS_PER_BILLING_UNIT)
    return f"{sign}{whole}.{part:03d} {billing_unit(resource)}"


def readings_key(unit: Unit) -> str:
    """The readings-message key that carries registers in ``unit``."""
    return next(key for key, carried in READINGS_KEYS.items() if carried is unit)


def unit_mismatch(unit: Unit, resource: Resource, point_id: str) -> str | None:
    """Why a reading in ``unit`` cannot belong to ``point_id`` measuring ``resource``, if so."""
    if base_unit(resource) is unit:
        return None
    return f"{readings_key(unit)} reading for {resource.value} point {point_id}"
