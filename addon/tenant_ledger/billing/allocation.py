"""Sharing common-area energy and losses between tenants, exactly to the Wh and minor unit.

Shares are split by the largest-remainder method: everyone gets the whole units of their exact
share, and the units left over go to the largest fractional parts, ties to the smaller tenant
id. The parts always add up to the whole, and the same inputs always give the same split.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from tenant_ledger.billing.money import Money, round_half_up
from tenant_ledger.billing.resources import Resource


class PointKind(StrEnum):
    """What a metering point measures."""

    TENANT = "tenant"
    """A tenant's supply: assigned to tenants, who pay for it."""
    COMMON = "common"
    """A shared load (corridor, pump, lift): priced and shared by an ``AllocationMethod``."""
    INCOMER = "incomer"
    """The building's supply meter, compared with the sum of the other points for losses."""


class AllocationMethod(StrEnum):
    EQUAL = "equal"
    """Equal shares, each scaled by how long the tenant was in during the period."""
    FLOOR_AREA = "floor_area"
    """By floor area, scaled by time in, like ``equal``."""
    CONSUMPTION = "consumption"
    """By the tenants' own metered use of the common point's resource in the period (an
    electricity point by their Wh of electricity, a water point by their litres of water)."""
    WATER_CONSUMPTION = "water_consumption"
    """By the tenants' own metered water in the period, whatever the common point measures:
    a shared hot-water heat meter, or the electricity of a water pump."""

    def weighed_resource(self, common: Resource) -> Resource | None:
        """The resource whose use weighs the shares of a common point of ``common``; None for
        the methods that do not weigh use."""
        if self is AllocationMethod.CONSUMPTION:
            return common
        if self is AllocationMethod.WATER_CONSUMPTION:
            return Resource.WATER
        return None


@dataclass(frozen=True, kw_only=True)
class Occupant:
    """A tenant active in the period, with what the allocation methods weigh."""

    tenant_id: str
    occupied: timedelta
    floor_area_m2: Decimal | None = None
    usage: Mapping[Resource, int] = field(default_factory=dict)
    """Base units (Wh or L) of each resource the tenant used in the period; never added up
    across resources."""


def largest_remainder(
    total: int, weights: Mapping[str, Fraction | int | Decimal]
) -> dict[str, int]:
    """Split the integer ``total`` in proportion to ``weights`` into integers summing to it."""
    if any(weight < 0 for weight in weights.values()):
        raise ValueError("allocation weights must not be negative")
    weight_sum = sum((Fraction(weight) for weight in weights.values()), Fraction(0))
    if not weight_sum:
        raise ValueError("cannot allocate with no positive weight")
    sign, remaining = (1, total) if total >= 0 else (-1, -total)
    exact = {key: remaining * Fraction(weight) / weight_sum for key, weight in weights.items()}
    shares = {key: int(share) for key, share in exact.items()}
    leftover = remaining - sum(shares.values())
    for key in sorted(exact, key=lambda key: (-(exact[key] - shares[key]), key))[:leftover]:
        shares[key] += 1
    return {key: sign * share for key, share in shares.items()}


def _present(occupants: Iterable[Occupant]) -> list[Occupant]:
    return [occupant for occupant in occupants if occupant.occupied > timedelta(0)]


def _nobody_used(weighed: Resource, present: list[Occupant]) -> bool:
    return not any(o.usage.get(weighed, 0) for o in present)


def allocation_weights(
    method: AllocationMethod, occupants: Iterable[Occupant], *, resource: Resource
) -> dict[str, Fraction]:
    """Each occupant's weight in sharing a common point of ``resource``; a split by use where
    nobody used the weighed resource falls back to equal."""
    present = _present(occupants)
    weighed = method.weighed_resource(resource)
    if weighed is not None and not _nobody_used(weighed, present):
        return {o.tenant_id: Fraction(o.usage.get(weighed, 0)) for o in present}
    if method is AllocationMethod.FLOOR_AREA:
        missing = [o.tenant_id for o in present if o.floor_area_m2 is None]
        if missing:
            raise ValueError(f"floor area unknown for {', '.join(missing)}")
        return {o.tenant_id: Fraction(o.floor_area_m2 or 0) * _seconds(o.occupied) for o in present}
    return {o.tenant_id: _seconds(o.occupied) for o in present}


def _seconds(duration: timedelta) -> Fraction:
    return Fraction(duration // timedelta(microseconds=1), 1_000_000)


def weights_label(
    method: AllocationMethod, occupants: Iterable[Occupant], *, resource: Resource
) -> str:
    """What ``allocation_weights`` weighed, for a statement line: "by water use", or "equal
    shares, no water used" when the split by use fell back to equal."""
    weighed = method.weighed_resource(resource)
    if weighed is not None:
        if _nobody_used(weighed, _present(occupants)):
            return f"equal shares, no {weighed} used"
        return f"by {weighed} use"
    return "by floor area" if method is AllocationMethod.FLOOR_AREA else "equal shares"


@dataclass(frozen=True, kw_only=True)
class AllocationLine:
    """A tenant's share of a common point (``corridor``) or of losses, net of tax."""

    label: str
    energy_wh: int
    """Base units of ``resource`` (Wh, or L for a water or gas common point)."""
    amount: Money
    tax_rate: Decimal
    resource: Resource = Resource.ELECTRICITY
    """What the common point measures (losses are electricity)."""

    @property
    def exact_amount(self) -> Fraction:
        return Fraction(self.amount.amount)


def allocate(
    *,
    label: str,
    energy_wh: int,
    cost: Money,
    method: AllocationMethod,
    occupants: Iterable[Occupant],
    tax_rate: Decimal,
    resource: Resource,
) -> dict[str, AllocationLine]:
    """Each active tenant's line for a shared ``energy_wh`` (base units of the common point's
    ``resource``) costing ``cost`` (net of tax)."""
    weights = allocation_weights(method, occupants, resource=resource)
    energy = largest_remainder(energy_wh, weights)
    money = largest_remainder(cost.minor, weights)
    return {
        tenant_id: AllocationLine(
            label=label,
            energy_wh=energy[tenant_id],
            amount=Money(currency=cost.currency, minor=money[tenant_id]),
            tax_rate=tax_rate,
            resource=resource,
        )
        for tenant_id in sorted(weights)
    }


@dataclass(frozen=True, kw_only=True)
class LossReport:
    """Incomer energy against the sum of its channels over a period."""

    incomer_wh: int
    channels_wh: int

    @property
    def losses_wh(self) -> int:
        """Positive: energy lost in cables, unmetered loads or theft. Negative: meter tolerance."""
        return self.incomer_wh - self.channels_wh

    @property
    def loss_ratio(self) -> Fraction | None:
        return Fraction(self.losses_wh, self.incomer_wh) if self.incomer_wh else None

    def cost(self, incomer_energy_cost: Money) -> Money:
        """Losses valued at the incomer's average energy price; nothing when there is no loss."""
        if self.losses_wh <= 0 or not self.incomer_wh:
            return Money.zero(incomer_energy_cost.currency)
        share = Fraction(incomer_energy_cost.minor * self.losses_wh, self.incomer_wh)
        return Money(currency=incomer_energy_cost.currency, minor=round_half_up(share))


def loss_report(incomer_wh: int, channel_wh: Iterable[int]) -> LossReport:
    return LossReport(incomer_wh=incomer_wh, channels_wh=sum(channel_wh))
