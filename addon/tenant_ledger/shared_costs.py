"""Common areas and losses: what the billing engine's ``allocate`` and ``loss_report`` are fed.

A common point (corridor lights, pump, lift, a shared hot-water heat meter) is rated with its
own tariff over a tenant's billing period; the cost, net of tax, is shared between every
tenant who held a tenant point in that period, by the point's allocation method. A split by
use weighs one resource only (the common point's own, or water), never litres added to Wh.
The electricity incomer is compared with the sum of the other electricity points for the loss
report: water, gas and heat are no part of it. Everything is computed from the stored
readings, so a statement's shares can be rebuilt at any time.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from tenant_ledger.billing import (
    AllocationLine,
    AllocationMethod,
    Assignment,
    Interval,
    LossReport,
    Money,
    Occupant,
    Reading,
    allocate,
    consumption,
    loss_report,
    occupancy,
    price,
    rate,
    tenant_intervals,
    weights_label,
)
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import to_us
from tenant_ledger.db.catalog import Catalog, PointRecord
from tenant_ledger.db.readings_store import readings_near


def _seconds(start_us: int, end_us: int) -> tuple[int, int]:
    """Epoch seconds that cover [start_us, end_us)."""
    return start_us // 1_000_000, -(-end_us // 1_000_000)


def _readings(
    connection: sa.Connection, point_ids: Iterable[str], start_us: int, end_us: int
) -> list[Reading]:
    start_s, end_s = _seconds(start_us, end_us)
    return [
        reading
        for point_id in sorted(set(point_ids))
        for reading in readings_near(connection, point_id, start_s, end_s)
    ]


def _clipped(intervals: Iterable[Interval], start_us: int, end_us: int) -> list[Interval]:
    return [part for item in intervals if (part := item.clip(start_us, end_us)) is not None]


def point_energy(
    connection: sa.Connection, point_ids: Iterable[str], start_us: int, end_us: int
) -> dict[str, int]:
    """Wh measured by each point in [start_us, end_us) (time-proportional at the edges)."""
    wanted = sorted(set(point_ids))
    consumptions = consumption(_readings(connection, wanted, start_us, end_us))
    return {
        point_id: sum(
            part.energy_wh
            for part in _clipped(
                () if point_id not in consumptions else consumptions[point_id].intervals,
                start_us,
                end_us,
            )
        )
        for point_id in wanted
    }


def electricity_incomers(catalog: Catalog) -> list[str]:
    """The incomers the loss report reads: the building's electricity supply meters."""
    return [
        point.id
        for point in catalog.points_of_kind("incomer")
        if point.resource is Resource.ELECTRICITY
    ]


def losses(connection: sa.Connection, catalog: Catalog, start_us: int, end_us: int) -> LossReport:
    """Electricity incomer energy against the sum of every other electricity point (tenant and
    common), over [start, end). Litres and heat are not electricity lost."""
    incomers = electricity_incomers(catalog)
    channels = [
        point_id
        for point_id in catalog.points
        if point_id not in incomers and catalog.resource_of(point_id) is Resource.ELECTRICITY
    ]
    incomer_wh = sum(point_energy(connection, incomers, start_us, end_us).values())
    return loss_report(incomer_wh, point_energy(connection, channels, start_us, end_us).values())


def tenant_energy(
    connection: sa.Connection, catalog: Catalog, start: datetime, end: datetime
) -> dict[str, int]:
    """Electricity (Wh) each tenant was billed for in [start, end): their electricity points'
    energy while they held them (what an electricity ``consumption`` split weighs, so both
    agree)."""
    return {
        occupant.tenant_id: occupant.usage.get(Resource.ELECTRICITY, 0)
        for occupant in _occupants(connection, catalog, start, end)
    }


def _occupants(
    connection: sa.Connection, catalog: Catalog, start: datetime, end: datetime
) -> list[Occupant]:
    """Every tenant (live or archived) who held a point in [start, end), with its weights."""
    start_us, end_us = to_us(start), to_us(end)
    held = [a for a in catalog.assignments if a.start_us < end_us and a.end_us > start_us]
    consumptions = consumption(_readings(connection, (a.point_id for a in held), start_us, end_us))
    # Each resource's use is summed from its own points only: litres are never added to Wh.
    held_by_resource: dict[Resource, list[Assignment]] = defaultdict(list)
    for item in held:
        held_by_resource[catalog.resource_of(item.point_id)].append(item)
    occupants = []
    for tenant_id in sorted({a.tenant_id for a in held}):
        windows = occupancy(held, tenant_id, start=start, end=end)
        spaces = {
            space
            for a in held
            if a.tenant_id == tenant_id
            and (space := catalog.point_records[a.point_id].space_id) is not None
        }
        areas = [catalog.space_areas.get(space) for space in sorted(spaces)]
        known = [area for area in areas if area is not None]
        occupants.append(
            Occupant(
                tenant_id=tenant_id,
                occupied=sum((finish - begin for begin, finish in windows), timedelta(0)),
                floor_area_m2=sum(known, Decimal(0)) if known and None not in areas else None,
                usage={
                    resource: sum(
                        part.energy_wh
                        for part in tenant_intervals(
                            consumptions, assignments, tenant_id, start=start, end=end
                        )
                    )
                    for resource, assignments in held_by_resource.items()
                },
            )
        )
    return occupants


def _common_cost(
    connection: sa.Connection, catalog: Catalog, point: PointRecord, start: datetime, end: datetime
) -> list[tuple[Decimal, int, Money]]:
    """(tax rate, base units, net cost) of the common point's use in [start, end), per tax
    rate."""
    schedule = None if point.tariff_id is None else catalog.schedules.get(point.tariff_id)
    if schedule is None:
        raise ValueError(f"common point {point.id} has no tariff")
    consumptions = consumption(_readings(connection, [point.id], to_us(start), to_us(end)))
    intervals = () if point.id not in consumptions else consumptions[point.id].intervals
    rating = rate(intervals, schedule, start=start, end=end, occupied=())
    energy: dict[Decimal, int] = defaultdict(int)
    cost: dict[Decimal, int] = defaultdict(int)
    priced = price(rating.energy_lines, catalog.currency).lines
    for line, item in zip(rating.energy_lines, priced, strict=True):
        energy[line.tax_rate] += line.energy_wh
        cost[line.tax_rate] += item.amount.minor
    return [
        (tax_rate, energy[tax_rate], Money(currency=catalog.currency, minor=cost[tax_rate]))
        for tax_rate in sorted(energy)
    ]


def common_split(
    connection: sa.Connection, catalog: Catalog, start: datetime, end: datetime
) -> dict[str, list[AllocationLine]]:
    """Every active tenant's share of every common point over the period [start, end).

    Raises ``ValueError`` when a share cannot be computed (a floor area missing for a
    ``floor_area`` split, a common point without a tariff): better no statement yet than a
    statement without the share.
    """
    common = catalog.points_of_kind("common")
    if not common:
        return {}
    occupants = _occupants(connection, catalog, start, end)
    lines: dict[str, list[AllocationLine]] = defaultdict(list)
    for point in common:
        method = AllocationMethod(point.allocation or AllocationMethod.EQUAL)
        for tax_rate, energy_wh, cost in _common_cost(connection, catalog, point, start, end):
            if not energy_wh and not cost.minor:
                continue
            weighed = weights_label(method, occupants, resource=point.resource)
            shares = allocate(
                label=f"shared: {point.name} ({weighed})",
                energy_wh=energy_wh,
                cost=cost,
                method=method,
                occupants=occupants,
                tax_rate=tax_rate,
                resource=point.resource,
            )
            for tenant_id, line in shares.items():
                lines[tenant_id].append(line)
    return dict(lines)


def common_shares(
    connection: sa.Connection, catalog: Catalog, tenant_id: str, start: datetime, end: datetime
) -> list[AllocationLine]:
    """The tenant's share of every common point over [start, end) (see ``common_split``)."""
    return common_split(connection, catalog, start, end).get(tenant_id, [])
