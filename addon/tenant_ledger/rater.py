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
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
import logging

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
    exact_gross,
    from_epoch,
    rate,
)
from tenant_ledger.billing.resources import Resource, base_unit
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.db import journal_store, rating_store
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.rating_store import PeriodOf, RatedPeriod
from tenant_ledger.journal import ENERGY_INCOME, Leg, Posting, PostingKind, tenant_account

_LOGGER = logging.getLogger(__name__)
SYSTEM_ACTOR = "ledger"
_UNBILLED_LOGGED: set[tuple[str, str, Resource]] = set()
"""(tenant, plan, resource) whose usage was found unbilled and said so in the log."""


@dataclass(frozen=True, kw_only=True, slots=True)
class PeriodKey:
    tenant_id: str
    start_us: int
    end_us: int


def rate_points(
    connection: sa.Connection, catalog: Catalog, point_ids: Iterable[str], now_us: int
) -> set[str]:
    """Rate every new reading of ``point_ids``; returns the tenants whose balance changed.

    Points never assigned to anyone are skipped (their readings wait, rated once assigned).
    """
    parts: dict[tuple[str, Resource], list[Interval]] = defaultdict(list)
    for point_id in sorted(point_ids):
        held = catalog.by_point.get(point_id)
        if not held:
            continue
        resource = catalog.resource_of(point_id)
        for interval in _new_intervals(connection, point_id):
            for assignment in held:
                part = interval.clip(assignment.start_us, assignment.end_us)
                if part is not None and part.energy_wh:
                    parts[assignment.tenant_id, resource].append(part)
    changed = set()
    for (tenant_id, resource), tenant_parts in parts.items():
        if _post_energy(connection, catalog, tenant_id, resource, tenant_parts, now_us=now_us):
            changed.add(tenant_id)
    return changed


def _new_intervals(connection: sa.Connection, point_id: str) -> tuple[Interval, ...]:
    """Intervals from the cursor to the newest reading; advances the cursor."""
    cursor = rating_store.cursor(connection, point_id)
    rows = rating_store.readings_after(connection, point_id, None if cursor is None else cursor.ts)
    if not rows:
        return ()
    timeline = [
        Reading(point_id=point_id, ts=from_epoch(row.ts), energy_wh=row.energy_wh)
        for row in ([cursor] if cursor is not None else []) + rows
    ]
    point = consumption(timeline)[point_id]
    for event in point.events:
        if event.kind is EventKind.REGISTER_RESET:
            _LOGGER.warning(
                "register of %s fell from %s to %s Wh at %s: counted as a reset to zero",
                point_id,
                event.previous_wh,
                event.value_wh,
                event.ts.isoformat(),
            )
    rating_store.move_cursor(connection, point_id, rows[-1], existed=cursor is not None)
    return point.intervals


def _by_period(
    catalog: Catalog, tenant_id: str, parts: list[Interval]
) -> dict[PeriodKey, list[Interval]]:
    """Parts split at the tenant's billing-period boundaries."""
    billing_day = catalog.plan_of(tenant_id).billing_day
    grouped: dict[PeriodKey, list[Interval]] = defaultdict(list)
    key: PeriodKey | None = None
    for part in parts:
        rest: Interval | None = part
        while rest is not None:
            # Nearly every part lies in the period of the one before: the period's edges (time
            # zone arithmetic) are looked up again only when a part starts outside it.
            if key is None or not key.start_us <= rest.start_us < key.end_us:
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
    kept = [
        piece
        for part in parts
        if (piece := part.clip(schedule.in_force_from_us(part.start_us), part.end_us)) is not None
    ]
    if sum(p.energy_wh for p in kept) != sum(p.energy_wh for p in parts):
        _LOGGER.warning("energy before the first tariff version was not billed")
    return kept


def _post_energy(
    connection: sa.Connection,
    catalog: Catalog,
    tenant_id: str,
    resource: Resource,
    parts: list[Interval],
    *,
    now_us: int,
) -> bool:
    """Post the cost of ``parts`` (usage of ``resource``) to the tenant: one journal entry."""
    plan = catalog.plan_of(tenant_id)
    slot = plan.tariff_for(resource)
    schedule = None if slot is None else catalog.schedules.get(slot.tariff_id)
    if slot is None or schedule is None:
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
        return False
    total_minor = total_wh = 0
    for period, period_parts in _by_period(catalog, tenant_id, _in_force(schedule, parts)).items():
        key = PeriodOf(tenant_id, resource, period.start_us)
        row = rating_store.rated_period(connection, key)
        prior_wh = 0 if row is None else row.energy_wh
        carry = Fraction(0) if row is None else row.carry
        cost = marginal_cost(schedule, slot.quota, period, prior_wh, period_parts)
        minor, accumulator = PostingAccumulator(currency=catalog.currency, carry=carry).post(cost)
        energy_wh = sum(part.energy_wh for part in period_parts)
        rated = RatedPeriod(
            energy_wh=prior_wh + energy_wh,
            posted_minor=(0 if row is None else row.posted_minor) + minor,
            carry=accumulator.carry,
        )
        rating_store.save_period(connection, key, rated, existed=row is not None)
        total_minor += minor
        total_wh += energy_wh
    if total_minor:
        journal_store.append(
            connection,
            Posting(
                kind=PostingKind.ENERGY,
                currency=catalog.currency,
                actor=SYSTEM_ACTOR,
                reason=f"{total_wh} {base_unit(resource)}",
                tenant_id=tenant_id,
                legs=(
                    Leg(account=tenant_account(tenant_id), amount_minor=-total_minor),
                    Leg(account=ENERGY_INCOME, amount_minor=total_minor),
                ),
            ),
            now_us,
        )
    return bool(total_wh)
