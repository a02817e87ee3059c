"""Statement runs: every closed billing period of every tenant becomes one statement, once.

``due_periods`` lists what is due, oldest first per tenant: after an outage every period
missed is issued, in order, so each statement opens where the previous one closed.
``issue_statement`` issues one tenant's period inside the caller's transaction; the service
runs each in its own, so one tenant's failure is reported and never blocks the others.

The statement is the billing engine's ``build_statement`` over the stored readings, so it can
be rebuilt from raw data at any time. Energy was already posted as it arrived (rounded once
over the period); the run posts the rest of the statement total (standing charge, per-line
rounding and tax as the statement shows them) so that the journal and the statement agree.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
import json
import logging

import sqlalchemy as sa

from tenant_ledger.billing import (
    AllocationLine,
    Assignment,
    Money,
    Reading,
    ResourceBilling,
    billing_period,
    build_statement,
    consumption,
    tenant_intervals,
)
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.statement_document import (
    Issuer,
    LateEnergy,
    StatementDocument,
    build_document,
    daily_usage,
    to_json,
    validate_document,
)
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.db import journal_store, sealed
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.statement_inputs import (
    PreviousStatement,
    Seen,
    account_balance,
    balance_before,
    credits_between,
    energy_posted,
    issued_starts,
    next_statement_number,
    period_readings,
    previous_statement,
    seen_json,
    usage_posted,
)
from tenant_ledger.journal import (
    BILLING_INCOME,
    COMMON_INCOME,
    Leg,
    Posting,
    PostingKind,
    tenant_account,
)
from tenant_ledger.rater import SYSTEM_ACTOR
from tenant_ledger.shared_costs import common_split
from tenant_ledger.standing_run import posted_standing

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class DuePeriod:
    tenant_id: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return f"{self.tenant_id}:{self.start.date().isoformat()}"


def due_periods(connection: sa.Connection, catalog: Catalog, now_us: int) -> list[DuePeriod]:
    """Every closed period without a statement, per tenant oldest first.

    A tenant's periods run from its first move-in (or its last statement) to the last period
    that ended before now; periods in which it held no point get no statement.
    """
    due = []
    # Archived tenants too: the statement of the period they moved out in is still due.
    for tenant_id in sorted({**catalog.tenants, **catalog.archived_tenants}):
        held = [a for a in catalog.assignments if a.tenant_id == tenant_id]
        if catalog.schedule_of(tenant_id) is None or not held:
            continue
        day = catalog.plan_of(tenant_id).billing_day
        issued = issued_starts(connection, tenant_id)
        since_us = max(issued, default=min(a.start_us for a in held))
        current_start, _ = billing_period(day, from_us(now_us), catalog.zone)
        start, end = billing_period(day, from_us(since_us), catalog.zone)
        found = []
        while to_us(end) <= to_us(current_start):
            start_us, end_us = to_us(start), to_us(end)
            if start_us not in issued and any(
                a.start_us < end_us and a.end_us > start_us for a in held
            ):
                found.append(DuePeriod(tenant_id=tenant_id, start=start, end=end))
            start, end = billing_period(day, end, catalog.zone)
        due.extend(found)
    return due


type Splits = dict[tuple[int, int], dict[str, list[AllocationLine]]]
"""Common-area splits per period, computed once for every tenant of a run."""


def issue_statement(
    connection: sa.Connection,
    catalog: Catalog,
    *,
    due: DuePeriod,
    issuer: Issuer,
    now_us: int,
    splits: Splits,
) -> StatementDocument:
    """Issue ``due`` (inside the caller's transaction): post what it settles, store it."""
    tenant_id, start, end = due.tenant_id, due.start, due.end
    start_us, end_us = to_us(start), to_us(end)
    if (start_us, end_us) not in splits:
        # A ValueError (a share that cannot be computed) postpones the statement: issued
        # without the share, it could never get it back.
        splits[start_us, end_us] = common_split(connection, catalog, start, end)
    shares = splits[start_us, end_us].get(tenant_id, [])
    previous = previous_statement(connection, tenant_id, start_us)
    document, seen = build_period_document(
        connection,
        catalog,
        tenant_id,
        start=start,
        end=end,
        previous=previous,
        shares=shares,
        issuer=issuer,
        now_us=now_us,
        number=next_statement_number(connection, from_us(now_us).astimezone(catalog.zone)),
    )
    problems = validate_document(document)
    if problems:
        raise ValueError(f"statement does not add up: {'; '.join(problems)}")
    entry_id = _settle(connection, catalog, due, document, shares=shares, now_us=now_us)
    sealed.insert(  # with its id and keyed hash (db/sealed.py)
        connection,
        sealed.STATEMENTS,
        [
            sealed.STATEMENTS.row(
                tenant_id=tenant_id,
                number=document.number,
                period_start_us=start_us,
                period_end_us=end_us,
                issued_at_us=now_us,
                due_at_us=to_us(_local_midnight(document.due_on, catalog)),
                currency=catalog.currency,
                total_minor=document.total_minor,
                opening_minor=document.opening_minor,
                closing_minor=document.closing_minor,
                energy_seen=json.dumps(seen_json(seen)),
                body=json.dumps(to_json(document)),
                journal_entry_id=entry_id,
            )
        ],
    )
    _check_books(connection, catalog, tenant_id, document, end_us=end_us)
    return document


def _local_midnight(day: date, catalog: Catalog) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=catalog.zone)


def build_period_document(
    connection: sa.Connection,
    catalog: Catalog,
    tenant_id: str,
    *,
    start: datetime,
    end: datetime,
    previous: PreviousStatement | None,
    shares: list[AllocationLine],
    issuer: Issuer,
    now_us: int,
    number: str | None,
) -> tuple[StatementDocument, Seen]:
    """The tenant's document for [start, end), and the usage it has shown per period.

    The one builder behind issued statements and previews (``number`` None, ``end`` now).
    Opening: the previous statement's closing, or (first statement) every posting before
    ``start``. Credits: those since the previous statement's period end (or ``start``).
    Late readings: usage (of any resource) posted for issued periods after their statement.
    """
    schedule = catalog.schedule_of(tenant_id)
    if schedule is None:
        raise ValueError("the tenant's plan has no tariff")
    currency = catalog.currency
    start_us, end_us = to_us(start), to_us(end)
    held = [
        a
        for a in catalog.assignments
        if a.tenant_id == tenant_id and a.start_us < end_us and a.end_us > start_us
    ]
    points = sorted({a.point_id for a in held})
    readings = period_readings(connection, points, start, end)
    electricity = [a for a in held if catalog.resource_of(a.point_id) is Resource.ELECTRICITY]
    if previous is None:
        opening, credits_from, seen = balance_before(connection, tenant_id, start_us), start_us, {}
    else:
        opening, credits_from = previous.closing_minor, previous.period_end_us
        seen = dict(previous.energy_seen)
    statement = build_statement(
        tenant_id=tenant_id,
        start=start,
        end=end,
        schedule=schedule,
        readings=[r for r in readings if catalog.resource_of(r.point_id) is Resource.ELECTRICITY],
        assignments=electricity,
        opening_balance=Money(currency=currency, minor=opening),
        credits=credits_between(connection, tenant_id, currency, credits_from, end_us),
        allocations=shares,
        quota=catalog.plan_of(tenant_id).quota,
        others=_other_resources(catalog, tenant_id, held, readings),
    )
    late = []
    billed = [Resource.ELECTRICITY, *(section.resource for section in statement.sections)]
    for resource in Resource:
        posted = energy_posted(connection, tenant_id, resource)
        for key, (was_minor, was_wh) in sorted(seen.items()):
            now_minor, now_wh = posted.get(key[1], (0, 0))
            if key[0] is resource and (now_minor, now_wh) != (was_minor, was_wh):
                late.append(
                    LateEnergy(
                        period_first_day=from_us(key[1]).astimezone(catalog.zone).date(),
                        energy_wh=now_wh - was_wh,
                        amount_minor=now_minor - was_minor,
                        resource=resource,
                    )
                )
                seen[key] = (now_minor, now_wh)
        # A resource is followed from the first statement that billed it.
        if resource in billed:
            seen[resource, start_us] = posted.get(start_us, (0, 0))
    zone = catalog.zone
    intervals = tenant_intervals(
        consumption(readings), electricity, tenant_id, start=start, end=end
    )
    last_day = (end.astimezone(zone) - timedelta(microseconds=1)).date()
    document = build_document(
        statement,
        number=number,
        issuer=issuer,
        tenant_name=catalog.record_of(tenant_id).name,
        point_names={
            p: catalog.point_records[p].name for p in points if p in catalog.point_records
        },
        zone=zone,
        issued=from_us(now_us),
        due_days=catalog.plan_of(tenant_id).due_days,
        late=tuple(late),
        usage=daily_usage(intervals, start.astimezone(zone).date(), last_day, zone),
    )
    return document, seen


def _other_resources(
    catalog: Catalog, tenant_id: str, held: list[Assignment], readings: list[Reading]
) -> list[ResourceBilling]:
    """The resources besides electricity the tenant held points of and its plan bills.

    A resource the plan has no tariff for is not billed (the rater logs it), as it is not rated.
    """
    found = []
    for resource in Resource:
        schedule = catalog.schedule_of(tenant_id, resource)
        of_resource = [a for a in held if catalog.resource_of(a.point_id) is resource]
        if resource is Resource.ELECTRICITY or schedule is None or not of_resource:
            continue
        found.append(
            ResourceBilling(
                resource=resource,
                schedule=schedule,
                readings=tuple(r for r in readings if catalog.resource_of(r.point_id) is resource),
                assignments=tuple(of_resource),
                quota=None
                if (slot := catalog.plan_of(tenant_id).tariff_for(resource)) is None
                else slot.quota,
            )
        )
    return found


def _settle(
    connection: sa.Connection,
    catalog: Catalog,
    due: DuePeriod,
    document: StatementDocument,
    *,
    shares: list[AllocationLine],
    now_us: int,
) -> int | None:
    """Post the shares and what the statement adds to the usage (every resource) posted."""
    tenant_id, start = due.tenant_id, due.start
    shared_minor = _post_shares(
        connection, catalog, tenant_id=tenant_id, start=start, shares=shares, now_us=now_us
    )
    energy_minor = usage_posted(connection, tenant_id).get(to_us(start), 0)
    zone = catalog.zone
    standing_minor = posted_standing(
        connection, tenant_id, start.astimezone(zone).date(), due.end.astimezone(zone).date()
    )
    settlement = document.total_minor - energy_minor - shared_minor - standing_minor
    if not settlement:
        return None
    account = tenant_account(tenant_id)
    return journal_store.append(
        connection,
        Posting(
            kind=PostingKind.STATEMENT,
            currency=catalog.currency,
            actor=SYSTEM_ACTOR,
            reason=f"statement {document.number} from {start.date()}: standing charge, "
            "rounding, tax",
            tenant_id=tenant_id,
            legs=(
                Leg(account=account, amount_minor=-settlement),
                Leg(account=BILLING_INCOME, amount_minor=settlement),
            ),
        ),
        now_us,
    ).id


def _post_shares(
    connection: sa.Connection,
    catalog: Catalog,
    *,
    tenant_id: str,
    start: datetime,
    shares: list[AllocationLine],
    now_us: int,
) -> int:
    """Post the tenant's common-area shares (net) once per period; returns the minor units."""
    total = sum(line.amount.minor for line in shares)
    if not total:
        return 0
    journal_store.append(
        connection,
        Posting(
            kind=PostingKind.COMMON_AREA,
            currency=catalog.currency,
            actor=SYSTEM_ACTOR,
            reason=f"common areas from {start.date()}: "
            + ", ".join(f"{line.label} {line.amount}" for line in shares),
            tenant_id=tenant_id,
            # One entry per tenant and period: the unique reference refuses a second one.
            ref=f"common:{tenant_id}:{to_us(start)}",
            legs=(
                Leg(account=tenant_account(tenant_id), amount_minor=-total),
                Leg(account=COMMON_INCOME, amount_minor=total),
            ),
        ),
        now_us,
    )
    return total


def _check_books(
    connection: sa.Connection,
    catalog: Catalog,
    tenant_id: str,
    document: StatementDocument,
    *,
    end_us: int,
) -> None:
    """The account now = closing + what happened after the period end; log when it is not.

    After the period end the journal can already hold credits and charges of the next
    period (energy rated since, prepaid standing days); they belong to the next statement.
    """
    after = sum(
        credit.amount.minor
        for credit in credits_between(connection, tenant_id, catalog.currency, end_us, 2**62)
    )
    ahead = sum(m for s, m in usage_posted(connection, tenant_id).items() if s >= end_us)
    ahead += posted_standing(
        connection, tenant_id, from_us(end_us).astimezone(catalog.zone).date(), date.max
    )
    expected = document.closing_minor + after - ahead
    balance = account_balance(connection, tenant_id)
    if balance != expected:
        _LOGGER.error(
            "statement %s of %s: closing %s plus what followed (%s) is %s, the account is %s",
            document.number,
            tenant_id,
            document.closing_minor,
            after - ahead,
            expected,
            balance,
        )
