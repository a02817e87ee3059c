"""Everything a statement is built from, read from the database in one place.

The statement run (issuing) and the web pages (preview of the open period, issued documents)
ask the same questions: what was credited, where the previous statement closed, which readings
count, what energy was posted for which period. One module answers them, so an issued
statement and its preview cannot disagree about their inputs.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
import json

import sqlalchemy as sa

from tenant_ledger.billing import Credit, CreditKind, Money, Reading, from_epoch
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import from_us, to_epoch, to_us
from tenant_ledger.db import point_numbers, sealed
from tenant_ledger.db.schema import journal, journal_legs, rating_periods, readings, statements
from tenant_ledger.journal import PostingKind, tenant_account

CREDIT_KINDS = {
    PostingKind.TOP_UP.value: CreditKind.TOP_UP,
    PostingKind.ADJUSTMENT.value: CreditKind.ADJUSTMENT,
    PostingKind.REVERSAL.value: CreditKind.REVERSAL,
}
"""Journal kinds that are money into (or adjustments of) a tenant's account."""


def credits_between(
    connection: sa.Connection, tenant_id: str, currency: str, start_us: int, end_us: int
) -> list[Credit]:
    """Top-ups and adjustments of the tenant's account dated in [start_us, end_us).

    Credits are stamped with the time they were posted, so consecutive periods split them
    exactly: a top-up after the period end belongs to the next statement, whenever this one is
    issued.
    """
    query = (
        sa.select(journal.c.ts_us, journal.c.kind, journal.c.reason, journal_legs.c.amount_minor)
        .join(journal_legs, journal_legs.c.entry_id == journal.c.id)
        .where(
            (journal_legs.c.account == tenant_account(tenant_id))
            & journal.c.kind.in_(list(CREDIT_KINDS))
            & (journal.c.ts_us >= start_us)
            & (journal.c.ts_us < end_us)
        )
        .order_by(journal.c.id)
    )
    return [
        Credit(
            ts=from_us(row.ts_us),
            kind=CREDIT_KINDS[row.kind],
            amount=Money(currency=currency, minor=row.amount_minor),
            description=row.reason,
        )
        for row in connection.execute(query)
    ]


def balance_before(connection: sa.Connection, tenant_id: str, before_us: int) -> int:
    """The tenant's balance (minor units) from every posting dated before ``before_us``."""
    query = (
        sa.select(sa.func.coalesce(sa.func.sum(journal_legs.c.amount_minor), 0))
        .join(journal, journal.c.id == journal_legs.c.entry_id)
        .where(
            (journal_legs.c.account == tenant_account(tenant_id)) & (journal.c.ts_us < before_us)
        )
    )
    return int(connection.execute(query).scalar_one())


def account_balance(connection: sa.Connection, tenant_id: str) -> int:
    """The tenant's balance now (minor units)."""
    query = sa.select(sa.func.coalesce(sa.func.sum(journal_legs.c.amount_minor), 0)).where(
        journal_legs.c.account == tenant_account(tenant_id)
    )
    return int(connection.execute(query).scalar_one())


def readings_around(
    connection: sa.Connection, point_ids: Collection[str], start_s: int, end_s: int
) -> list[Reading]:
    """Readings in [start_s, end_s] plus the last before and the first after, per point.

    The neighbours are what turn a window's edges into consumption (an interval straddling
    the edge counts with its time-proportional part).
    """
    found: list[Reading] = []
    for point_id in sorted(point_ids):
        of_point = point_numbers.of_point(point_id)
        before = sa.select(sa.func.max(readings.c.ts)).where(of_point & (readings.c.ts < start_s))
        after = sa.select(sa.func.min(readings.c.ts)).where(of_point & (readings.c.ts > end_s))
        query = (
            sa.select(readings.c.ts, readings.c.energy_wh)
            .where(
                of_point
                & (
                    readings.c.ts.between(start_s, end_s)
                    | (readings.c.ts == before.scalar_subquery())
                    | (readings.c.ts == after.scalar_subquery())
                )
            )
            .order_by(readings.c.ts)
        )
        found.extend(
            Reading(point_id=point_id, ts=from_epoch(row.ts), energy_wh=row.energy_wh)
            for row in connection.execute(query)
        )
    return found


def period_readings(
    connection: sa.Connection, point_ids: Collection[str], start: datetime, end: datetime
) -> list[Reading]:
    """The readings a statement of [start, end) rates (edges widened to whole seconds)."""
    return readings_around(connection, point_ids, to_epoch(start), -(-to_us(end) // 1_000_000))


def energy_posted(
    connection: sa.Connection, tenant_id: str, resource: Resource = Resource.ELECTRICITY
) -> dict[int, tuple[int, int]]:
    """Per rating period (start, µs): the minor units and base units of ``resource`` posted."""
    return {
        row.period_start_us: (row.posted_minor, row.energy_wh)
        for row in connection.execute(
            sa.select(
                rating_periods.c.period_start_us,
                rating_periods.c.posted_minor,
                rating_periods.c.energy_wh,
            ).where(
                (rating_periods.c.tenant_id == tenant_id)
                & (rating_periods.c.resource == resource.value)
            )
        )
    }


def usage_posted(connection: sa.Connection, tenant_id: str) -> dict[int, int]:
    """Per rating period (start, µs): the minor units posted for the usage of every resource."""
    query = (
        sa.select(rating_periods.c.period_start_us, sa.func.sum(rating_periods.c.posted_minor))
        .where(rating_periods.c.tenant_id == tenant_id)
        .group_by(rating_periods.c.period_start_us)
    )
    return {int(start_us): int(minor) for start_us, minor in connection.execute(query)}


type Seen = dict[tuple[Resource, int], tuple[int, int]]
"""Per resource and issued period (start, µs): minor units and base units its statements
showed. Stored as JSON keyed ``"{start}"`` for electricity (as before there were others) and
``"{resource}:{start}"`` for the others."""


def seen_json(seen: Seen) -> dict[str, list[int]]:
    return {
        (str(start) if resource is Resource.ELECTRICITY else f"{resource}:{start}"): list(value)
        for (resource, start), value in seen.items()
    }


def _seen_key(key: str) -> tuple[Resource, int]:
    resource, _, start = key.rpartition(":")
    return Resource(resource or Resource.ELECTRICITY), int(start)


@dataclass(frozen=True, kw_only=True, slots=True)
class PreviousStatement:
    """Where the tenant's last issued statement left the account (its bookkeeping columns)."""

    period_end_us: int
    closing_minor: int
    energy_seen: Seen


def previous_statement(
    connection: sa.Connection, tenant_id: str, start_us: int
) -> PreviousStatement | None:
    """The tenant's last statement of a period before ``start_us``, if any."""
    row = connection.execute(
        sa.select(statements.c.period_end_us, statements.c.closing_minor, statements.c.energy_seen)
        .where((statements.c.tenant_id == tenant_id) & (statements.c.period_start_us < start_us))
        .order_by(statements.c.period_start_us.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return PreviousStatement(
        period_end_us=row.period_end_us,
        closing_minor=row.closing_minor,
        energy_seen={
            _seen_key(key): (int(minor), int(wh))
            for key, (minor, wh) in json.loads(row.energy_seen).items()
        },
    )


def issued_starts(connection: sa.Connection, tenant_id: str) -> set[int]:
    """Period starts (µs) of the tenant's issued statements."""
    query = sa.select(statements.c.period_start_us).where(statements.c.tenant_id == tenant_id)
    return set(connection.execute(query).scalars())


def next_statement_number(connection: sa.Connection, issued: datetime) -> str:
    """The next number in the ledger's one sequence of statements: ``YYYY-NNNNN``.

    The statement's id is the sequence (the ledger gives the ids, ``db/sealed.py``); the year
    of issue makes numbers readable on paper.
    """
    return f"{issued.year}-{sealed.next_id(connection, statements):05d}"


def settled_until(connection: sa.Connection, tenant_id: str) -> int | None:
    """End (epoch µs) of the tenant's newest issued statement, if any."""
    query = sa.select(sa.func.max(statements.c.period_end_us)).where(
        statements.c.tenant_id == tenant_id
    )
    return connection.execute(query).scalar()


def statement_body(connection: sa.Connection, tenant_id: str, start_us: int) -> str | None:
    """The stored document (JSON) of the tenant's statement of the period from ``start_us``."""
    query = sa.select(statements.c.body).where(
        (statements.c.tenant_id == tenant_id) & (statements.c.period_start_us == start_us)
    )
    return connection.execute(query).scalar()
