"""Prepaid standing charges, posted day by day so the balance shows them as they fall due.

Each local day a prepaid tenant held a metering point is charged once, after the day has ended
(reference ``standing:{tenant}:{date}``: the journal's unique reference refuses a second one).
A day is the tariff's standing charge with tax, pro rata for the hours held, rounded once. The
statement of the period then posts only what its own per-line rounding makes different, so the
balance still equals the statement to the cent. Days of a period whose statement is issued are
never posted: the statement settled them, and neither are days before the period the next
statement settles (no statement would ever show them).

Every resource the plan bills adds its tariff's standing charge for the time the tenant held a
point of that resource (electricity's for its electricity points, water's for its water
points), priced together like the statement's lines: one posting per day.
"""

from datetime import date, datetime, time, timedelta
import logging

import sqlalchemy as sa

from tenant_ledger.billing import (
    PlanKind,
    StandingLine,
    billing_period,
    occupancy,
    price,
    rate,
)
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import from_us
from tenant_ledger.db import journal_store, statement_inputs
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.journal import STANDING_INCOME, Leg, Posting, PostingKind, tenant_account
from tenant_ledger.rater import SYSTEM_ACTOR

_LOGGER = logging.getLogger(__name__)
STANDING_KIND = PostingKind.STANDING


def _ref_prefix(tenant_id: str) -> str:
    return f"{STANDING_KIND}:{tenant_id}:"


def _posted_days(connection: sa.Connection, tenant_id: str) -> set[str]:
    prefix = _ref_prefix(tenant_id)
    refs = journal_store.refs_with_prefix(connection, STANDING_KIND, tenant_id, prefix)
    return {ref.removeprefix(prefix) for ref in refs}


def posted_standing(
    connection: sa.Connection, tenant_id: str, first_day: date, end_day: date
) -> int:
    """Minor units of daily standing charges posted for the days in [first_day, end_day)."""
    prefix = _ref_prefix(tenant_id)
    return -sum(
        amount
        for ref, amount in journal_store.tenant_legs_by_ref(connection, STANDING_KIND, tenant_id)
        if first_day.isoformat() <= ref.removeprefix(prefix) < end_day.isoformat()
    )


def post_daily_standing(connection: sa.Connection, catalog: Catalog, now_us: int) -> set[str]:
    """Post every ended, unposted day of every live prepaid tenant; returns the tenants charged."""
    zone = catalog.zone
    today = from_us(now_us).astimezone(zone).date()
    charged = set()
    for tenant_id in sorted(catalog.tenants):
        held = catalog.by_tenant.get(tenant_id, ())
        plan = catalog.plan_of(tenant_id)
        if plan.kind is not PlanKind.PREPAID or not held or not _has_standing(catalog, tenant_id):
            continue
        # Back to the period the next statement settles at most (older ones get no statement).
        current, _end = billing_period(plan.billing_day, from_us(now_us), zone)
        previous, _current = billing_period(plan.billing_day, current - timedelta(days=1), zone)
        first = min(item.start for item in held).astimezone(zone).date()
        day = max(first, previous.astimezone(zone).date())
        settled_until = statement_inputs.settled_until(connection, tenant_id)
        if settled_until is not None:
            day = max(day, from_us(settled_until).astimezone(zone).date())
        posted = _posted_days(connection, tenant_id)
        while day < today:
            begin = datetime.combine(day, time(), tzinfo=zone)
            end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
            windows = occupancy(held, tenant_id, start=begin, end=end)
            if day.isoformat() not in posted and windows:
                minor = _day_charge(catalog, tenant_id, begin, end)
                if minor:
                    _post(
                        connection,
                        catalog,
                        tenant_id=tenant_id,
                        day=day,
                        amount_minor=minor,
                        now_us=now_us,
                    )
                    charged.add(tenant_id)
            day += timedelta(days=1)
    return charged


def standing_to_date(catalog: Catalog, tenant_id: str, start: datetime, now: datetime) -> int:
    """The standing charge with tax from ``start`` to ``now`` (the open period so far)."""
    if now <= start or not _has_standing(catalog, tenant_id):
        return 0
    return price(_standing_lines(catalog, tenant_id, start, now), catalog.currency).total.minor


def _has_standing(catalog: Catalog, tenant_id: str) -> bool:
    """Whether a tariff of the tenant's plan has a standing charge in any version."""
    return any(
        version.tariff.standing_charge_per_day
        for resource in Resource
        if (schedule := catalog.schedule_of(tenant_id, resource)) is not None
        for version in schedule.versions
    )


def _standing_lines(
    catalog: Catalog, tenant_id: str, begin: datetime, end: datetime
) -> list[StandingLine]:
    """Each billed resource's standing charge for the time the tenant held a point of it."""
    lines: list[StandingLine] = []
    for resource in Resource:
        schedule = catalog.schedule_of(tenant_id, resource)
        held = [
            item
            for item in catalog.by_tenant.get(tenant_id, ())
            if catalog.resource_of(item.point_id) is resource
        ]
        windows = occupancy(held, tenant_id, start=begin, end=end)
        if schedule is None or not windows:
            continue
        try:
            rating = rate((), schedule, start=begin, end=end, occupied=windows)
        except ValueError as err:  # no tariff version in force yet
            _LOGGER.debug(
                "no %s standing charge for %s from %s: %s", resource, tenant_id, begin, err
            )
            continue
        lines += rating.standing_lines
    return lines


def _day_charge(catalog: Catalog, tenant_id: str, begin: datetime, end: datetime) -> int:
    """The day's standing charges with tax, rounded once (0 without a tariff in force)."""
    return price(_standing_lines(catalog, tenant_id, begin, end), catalog.currency).total.minor


def _post(
    connection: sa.Connection,
    catalog: Catalog,
    *,
    tenant_id: str,
    day: date,
    amount_minor: int,
    now_us: int,
) -> None:
    journal_store.append(
        connection,
        Posting(
            kind=STANDING_KIND,
            currency=catalog.currency,
            actor=SYSTEM_ACTOR,
            reason=f"standing charge {day.isoformat()}",
            tenant_id=tenant_id,
            ref=f"{_ref_prefix(tenant_id)}{day.isoformat()}",
            legs=(
                Leg(account=tenant_account(tenant_id), amount_minor=-amount_minor),
                Leg(account=STANDING_INCOME, amount_minor=amount_minor),
            ),
        ),
        now_us,
    )
