"""Incremental rating: new register readings become usage postings, exactly once.

Per point a cursor remembers the last reading whose usage has been posted; per tenant, resource
and billing period a row remembers the usage rated so far (Wh or L), the minor units posted and
the sub-minor-unit remainder. Each resource is rated with the tariff (and quota) the tenant's
plan has for it; a resource the plan does not bill is logged once and not billed. Cursors,
period rows and journal entries are written in one transaction, so after a crash either all of
a batch is rated or none of it, and the posted total of a period always equals its exact total
rounded once (``PostingAccumulator``).

Tiers and allowances depend on the usage already rated in the period. The new parts are priced
as the difference between rating [prior usage + new parts] and [prior usage] alone, the prior
usage standing in as one interval at the period start.

A reading older than its point's cursor (a late backlog) is stored but does not change posted
usage: the register delta across it is already rated. Statements, rebuilt from all readings,
true up any difference that finer time resolution makes (time-of-use bands).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
import logging
from types import MappingProxyType

import sqlalchemy as sa

from tenant_ledger.billing import (
    EventKind,
    Interval,
    PostingAccumulator,
    Quota,
    Reading,
    TariffSchedule,
    billing_period,
    consumption,
    counted_up,
    exact_gross,
    from_epoch,
    rate,
)
from tenant_ledger.billing.plausibility import Register
from tenant_ledger.billing.resources import Resource, base_unit
from tenant_ledger.billing.timestamps import US_PER_SECOND, from_us, to_us
from tenant_ledger.db import journal_store, rating_store
from tenant_ledger.db.catalog import Catalog, ResourceTariff
from tenant_ledger.db.rating_store import PeriodOf, RatedPeriod
from tenant_ledger.db.readings_store import Appended
from tenant_ledger.journal import ENERGY_INCOME, Leg, Posting, PostingKind, tenant_account

_LOGGER = logging.getLogger(__name__)
SYSTEM_ACTOR = "ledger"
_UNBILLED_LOGGED: set[tuple[str, str, Resource]] = set()
"""(tenant, plan, resource) whose usage was found unbilled and said so in the log."""


_NONE_APPENDED: Mapping[str, Appended] = MappingProxyType({})

type _Priced = tuple[ResourceTariff, TariffSchedule]
"""The plan's tariff slot for a resource (with its quota) and the tariff's schedule."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PeriodKey:
    tenant_id: str
    start_us: int
    end_us: int


def rate_points(
    connection: sa.Connection,
    catalog: Catalog,
    point_ids: Iterable[str],
    now_us: int,
    appended: Mapping[str, Appended] = _NONE_APPENDED,
) -> set[str]:
    """Rate every new reading of ``point_ids``; returns the tenants whose balance changed.

    Points never assigned to anyone are skipped (their readings wait, rated once assigned).
    All the points are rated together: one read of their cursors, new readings and periods,
    one write of each, and the tenants' postings appended in one go. ``appended``: what the
    transaction's batch just stored (``readings_store.StoredBatch``), not read back.
    """
    held = [point_id for point_id in sorted(point_ids) if catalog.by_point.get(point_id)]
    parts: dict[tuple[str, Resource], list[Interval]] = defaultdict(list)
    new = _new_intervals(connection, held, appended)
    for point_id in held:  # in order: the postings' order never depends on what was read back
        intervals = new.get(point_id)
        if not intervals:
            continue
        resource = catalog.resource_of(point_id)
        for tenancy in catalog.by_point[point_id]:
            used = _used_within(intervals, tenancy.start_us, tenancy.end_us)
            if used:
                parts[tenancy.tenant_id, resource] += used
    billed: dict[tuple[str, Resource], tuple[_Priced, dict[PeriodKey, list[Interval]]]] = {}
    for (tenant_id, resource), tenant_parts in parts.items():
        priced = _priced(catalog, tenant_id, resource)
        if priced is not None:
            periods = _by_period(catalog, tenant_id, _in_force(priced[1], tenant_parts))
            billed[tenant_id, resource] = (priced, periods)
    keys = [
        PeriodOf(tenant_id, resource, period.start_us)
        for (tenant_id, resource), (_, periods) in billed.items()
        for period in periods
    ]
    before = rating_store.rated_periods(connection, keys)
    after: dict[PeriodOf, RatedPeriod] = {}
    postings = []
    changed = set()
    for (tenant_id, resource), (priced, periods) in billed.items():
        total_minor = total_wh = 0
        for period, period_parts in periods.items():
            key = PeriodOf(tenant_id, resource, period.start_us)
            after[key] = _rated(catalog, period, period_parts, priced=priced, row=before.get(key))
            previous = before.get(key, _NOTHING_RATED)
            total_minor += after[key].posted_minor - previous.posted_minor
            total_wh += after[key].energy_wh - previous.energy_wh
        if total_minor:
            postings.append(_energy_posting(catalog, tenant_id, resource, total_minor, total_wh))
        if total_wh:
            changed.add(tenant_id)
    rating_store.save_periods(connection, after, existing=before)
    journal_store.append_all(connection, postings, now_us)
    return changed


def _new_intervals(
    connection: sa.Connection, point_ids: Sequence[str], appended: Mapping[str, Appended]
) -> dict[str, tuple[Interval, ...]]:
    """Per point, the intervals from its cursor to its newest reading; advances the cursors.

    A point rated up to its newest reading before the batch (the usual case: its cursor is
    that reading) takes the batch's new readings as they were stored; the others read theirs
    back from the cursor on.
    """
    cursors = rating_store.cursors(connection, point_ids)
    newer = {
        point_id: appended[point_id].registers
        for point_id in point_ids
        if point_id in appended and cursors.get(point_id) == appended[point_id].after
    }
    unknown = [point_id for point_id in point_ids if point_id not in newer]
    newer |= rating_store.readings_after(connection, unknown, cursors)
    intervals = {}
    for point_id, rows in newer.items():
        cursor = cursors.get(point_id)
        intervals[point_id] = _intervals(point_id, rows if cursor is None else [cursor, *rows])
    rating_store.move_cursors(
        connection, {point_id: rows[-1] for point_id, rows in newer.items()}, existing=cursors
    )
    return intervals


def _intervals(point_id: str, timeline: list[Register]) -> tuple[Interval, ...]:
    """The intervals between a point's readings (in time order, one per instant)."""
    instants = [register.ts * US_PER_SECOND for register in timeline]
    counted = counted_up(point_id, instants, [register.energy_wh for register in timeline])
    if counted is not None:
        return counted
    # The register fell: ``consumption`` counts it as a reset, and the landlord hears of it.
    readings = [
        Reading(point_id=point_id, ts=from_epoch(r.ts), energy_wh=r.energy_wh) for r in timeline
    ]
    point = consumption(readings)[point_id]
    for event in point.events:
        if event.kind is EventKind.REGISTER_RESET:
            _LOGGER.warning(
                "register of %s fell from %s to %s Wh at %s: counted as a reset to zero",
                point_id,
                event.previous_wh,
                event.value_wh,
                event.ts.isoformat(),
            )
    return point.intervals


def _used_within(intervals: Sequence[Interval], start_us: int, end_us: int) -> list[Interval]:
    """The parts of ``intervals`` (in time order) inside [start_us, end_us) that used anything."""
    if start_us <= intervals[0].start_us and intervals[-1].end_us <= end_us:
        return [interval for interval in intervals if interval.energy_wh]  # all inside: usual
    parts = (interval.clip(start_us, end_us) for interval in intervals)
    return [part for part in parts if part is not None and part.energy_wh]


def _by_period(
    catalog: Catalog, tenant_id: str, parts: list[Interval]
) -> dict[PeriodKey, list[Interval]]:
    """Parts split at the tenant's billing-period boundaries."""
    if not parts:
        return {}
    billing_day = catalog.plan_of(tenant_id).billing_day
    earliest = min(part.start_us for part in parts)
    start, end = billing_period(billing_day, from_us(earliest), catalog.zone)
    key = PeriodKey(tenant_id=tenant_id, start_us=to_us(start), end_us=to_us(end))
    if max(part.end_us for part in parts) <= key.end_us:  # the usual batch: one period
        used = [part for part in parts if part.energy_wh]
        return {key: used} if used else {}
    grouped: dict[PeriodKey, list[Interval]] = defaultdict(list)
    for part in parts:
        rest: Interval | None = part
        while rest is not None:
            # Nearly every part lies in the period of the one before: the period's edges (time
            # zone arithmetic) are looked up again only when a part starts outside it.
            if not key.start_us <= rest.start_us < key.end_us:
                start, end = billing_period(billing_day, from_us(rest.start_us), catalog.zone)
                key = PeriodKey(tenant_id=tenant_id, start_us=to_us(start), end_us=to_us(end))
            piece = rest.clip(key.start_us, key.end_us)
            if piece is not None and piece.energy_wh:
                grouped[key].append(piece)
            rest = rest.clip(key.end_us, rest.end_us) if rest.end_us > key.end_us else None
    return grouped


def marginal_cost(
    schedule: TariffSchedule,
    quota: Quota | None,
    period: PeriodKey,
    prior_wh: int,
    parts: list[Interval],
) -> Fraction:
    """Exact gross cost of ``parts`` given ``prior_wh`` already used in the period."""
    start, end = from_us(period.start_us), from_us(period.end_us)
    # The period's earlier energy, placed where rating starts (the tariff may start mid-period).
    prior_at = schedule.in_force_from_us(period.start_us)
    prior = (
        [
            Interval(
                point_id="",
                start_us=prior_at,
                end_us=prior_at + 1,
                energy_wh=prior_wh,
            )
        ]
        if prior_wh
        else []
    )

    def gross(intervals: list[Interval]) -> Fraction:
        rating = rate(intervals, schedule, start=start, end=end, quota=quota)
        return exact_gross(rating.energy_lines)

    return gross(prior + parts) - (gross(prior) if prior else Fraction(0))


def _in_force(schedule: TariffSchedule, parts: list[Interval]) -> list[Interval]:
    """Parts clipped to when the tariff exists; energy before its first version is not billed."""
    earliest = min((part.start_us for part in parts), default=0)
    if schedule.in_force_from_us(earliest) == earliest:
        return parts  # the usual case: all of them after the tariff's start
    kept = [
        piece
        for part in parts
        if (piece := part.clip(schedule.in_force_from_us(part.start_us), part.end_us)) is not None
    ]
    if sum(p.energy_wh for p in kept) != sum(p.energy_wh for p in parts):
        _LOGGER.warning("energy before the first tariff version was not billed")
    return kept


def _priced(catalog: Catalog, tenant_id: str, resource: Resource) -> _Priced | None:
    """The tariff the tenant's plan bills ``resource`` with; None (logged) when it bills none."""
    plan = catalog.plan_of(tenant_id)
    slot = plan.tariff_for(resource)
    schedule = None if slot is None else catalog.schedules.get(slot.tariff_id)
    if slot is not None and schedule is not None:
        return slot, schedule
    if resource is Resource.ELECTRICITY:
        _LOGGER.error("tenant %s has a plan without a tariff: energy not billed", tenant_id)
    elif (tenant_id, plan.id, resource) not in _UNBILLED_LOGGED:
        _UNBILLED_LOGGED.add((tenant_id, plan.id, resource))
        _LOGGER.warning(
            "tenant %s's plan %s has no %s tariff: %s not billed",
            tenant_id,
            plan.id,
            resource,
            resource,
        )
    return None


_NOTHING_RATED = RatedPeriod(energy_wh=0, posted_minor=0, carry=Fraction(0))


def _rated(
    catalog: Catalog,
    period: PeriodKey,
    parts: list[Interval],
    *,
    priced: _Priced,
    row: RatedPeriod | None,
) -> RatedPeriod:
    """The period's rating once ``parts`` (usage in it) are added to what ``row`` rated."""
    slot, schedule = priced
    rated = _NOTHING_RATED if row is None else row
    cost = marginal_cost(schedule, slot.quota, period, rated.energy_wh, parts)
    minor, accumulator = PostingAccumulator(currency=catalog.currency, carry=rated.carry).post(cost)
    return RatedPeriod(
        energy_wh=rated.energy_wh + sum(part.energy_wh for part in parts),
        posted_minor=rated.posted_minor + minor,
        carry=accumulator.carry,
    )


def _energy_posting(
    catalog: Catalog, tenant_id: str, resource: Resource, total_minor: int, total_wh: int
) -> Posting:
    """One journal entry for the cost of the tenant's new usage of ``resource``."""
    return Posting(
        kind=PostingKind.ENERGY,
        currency=catalog.currency,
        actor=SYSTEM_ACTOR,
        reason=f"{total_wh} {base_unit(resource)}",
        tenant_id=tenant_id,
        legs=(
            Leg(account=tenant_account(tenant_id), amount_minor=-total_minor),
            Leg(account=ENERGY_INCOME, amount_minor=total_minor),
        ),
    )
