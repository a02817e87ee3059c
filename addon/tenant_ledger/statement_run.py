"""Statement runs: on each billing day, every tenant's closed period becomes a statement.

The statement is the billing engine's ``build_statement`` over the stored readings, so it can
be rebuilt from raw data at any time. Energy was already posted as it arrived (rounded once
over the period); the run posts the rest of the statement total (standing charge, per-line
rounding and tax as the statement shows them) so that the journal and the statement agree.
"""

from datetime import date, datetime, timedelta
import json
import logging
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import (
    AllocationLine,
    Credit,
    CreditKind,
    EnergyLine,
    Money,
    PostpaidPlan,
    StandingLine,
    Statement,
    billing_period,
    build_statement,
    format_kwh,
    format_minor,
)
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.db import journal_store, sealed
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.readings_store import readings_near
from tenant_ledger.db.schema import journal, journal_legs, rating_periods, statements
from tenant_ledger.journal import Leg, Posting, tenant_account
from tenant_ledger.rater import SYSTEM_ACTOR
from tenant_ledger.shared_costs import common_split
from tenant_ledger.standing_run import post_daily_standing, posted_standing

_LOGGER = logging.getLogger(__name__)
BILLING_INCOME = "income:billing"
COMMON_INCOME = "income:common"
CREDIT_KINDS = {"top_up": CreditKind.TOP_UP, "adjustment": CreditKind.ADJUSTMENT}


def _credits(
    connection: sa.Connection, account: str, currency: str, after: int | tuple[int, None]
) -> list[Credit]:
    """Credits posted since the previous statement (entry id after ``after``), or for the
    first statement every credit from the period start (``(start_us, None)``) until now."""
    since = journal.c.ts_us >= after[0] if isinstance(after, tuple) else journal.c.id > after
    query = (
        sa.select(journal.c.ts_us, journal.c.kind, journal.c.reason, journal_legs.c.amount_minor)
        .join(journal_legs, journal_legs.c.entry_id == journal.c.id)
        .where((journal_legs.c.account == account) & journal.c.kind.in_(list(CREDIT_KINDS)) & since)
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


def _balance_before(connection: sa.Connection, account: str, before_us: int) -> int:
    query = (
        sa.select(sa.func.sum(journal_legs.c.amount_minor))
        .join(journal, journal_legs.c.entry_id == journal.c.id)
        .where((journal_legs.c.account == account) & (journal.c.ts_us < before_us))
    )
    return int(connection.execute(query).scalar() or 0)


def _line(item: Any, currency: str) -> dict[str, Any]:
    line = item.line
    described: dict[str, Any] = {
        "label": line.label,
        "amount": format_minor(item.amount.minor, currency),
    }
    if isinstance(line, EnergyLine):
        described |= {"energy_kwh": format_kwh(line.energy_wh), "unit_price": str(line.unit_price)}
    elif isinstance(line, StandingLine):
        described |= {
            "days": f"{line.days.numerator}/{line.days.denominator}",
            "unit_price": str(line.daily_charge),
        }
    elif isinstance(line, AllocationLine):
        described |= {"energy_kwh": format_kwh(line.energy_wh), "shared": True}
    described["tax_rate"] = str(line.tax_rate)
    return described


def statement_document(
    statement: Statement, *, tenant_name: str, issued: datetime, due: datetime, zone: Any
) -> dict[str, Any]:
    """The statement as the JSON the API serves (CSV and PDF are drawn from it)."""
    currency = statement.currency

    def money(amount: Money) -> str:
        return format_minor(amount.minor, currency)

    charges = statement.charges
    return {
        "tenant_id": statement.tenant_id,
        "tenant_name": tenant_name,
        "currency": currency,
        "period_start": statement.start.astimezone(zone).isoformat(),
        "period_end": statement.end.astimezone(zone).isoformat(),
        "issued_at": issued.isoformat(),
        "due_at": due.astimezone(zone).isoformat(),
        "opening_balance": money(statement.opening_balance),
        "energy_kwh": format_kwh(statement.energy_wh),
        "lines": [_line(item, currency) for item in charges.lines],
        "taxes": [
            {"rate": str(t.rate), "base": money(t.base), "tax": money(t.tax)} for t in charges.taxes
        ],
        "net": money(charges.net),
        "tax": money(charges.tax),
        "total": money(charges.total),
        "credits": [
            {
                "time": c.ts.isoformat(),
                "kind": c.kind.value,
                "amount": money(c.amount),
                "description": c.description,
            }
            for c in statement.credits
        ],
        "closing_balance": money(statement.closing_balance),
        "points": [
            {
                "point": p.point_id,
                "energy_kwh": format_kwh(p.energy_wh),
                "events": [e.kind.value for e in p.events],
            }
            for p in statement.points
        ],
    }


def run_due_statements(connection: sa.Connection, catalog: Catalog, now_us: int) -> list[str]:
    """Issue each tenant's statement of its last closed period, once; returns their ids."""
    post_daily_standing(connection, catalog, now_us)
    issued = []
    # Tenants with the same billing day share one split per period: computed once.
    splits: dict[tuple[int, int], dict[str, list[AllocationLine]] | ValueError] = {}
    # Archived tenants too: the statement of the period they moved out in is still due.
    for tenant_id, record in {**catalog.tenants, **catalog.archived_tenants}.items():
        schedule = catalog.schedule_of(tenant_id)
        plan = catalog.plan_of(tenant_id)
        if schedule is None:
            continue
        current_start, _ = billing_period(plan.billing_day, from_us(now_us), catalog.zone)
        start, end = billing_period(
            plan.billing_day, current_start - timedelta(microseconds=1), catalog.zone
        )
        start_us, end_us = to_us(start), to_us(end)
        held = [
            a
            for a in catalog.assignments
            if a.tenant_id == tenant_id and a.start_us < end_us and a.end_us > start_us
        ]
        exists = connection.execute(
            sa.select(statements.c.id).where(
                (statements.c.tenant_id == tenant_id) & (statements.c.period_start_us == start_us)
            )
        ).first()
        if not held or exists is not None:
            continue
        account = tenant_account(tenant_id)
        start_s, end_s = start_us // 1_000_000, -(-end_us // 1_000_000)
        if (start_us, end_us) not in splits:
            try:
                splits[start_us, end_us] = common_split(connection, catalog, start, end)
            except ValueError as err:
                splits[start_us, end_us] = err
        split = splits[start_us, end_us]
        if isinstance(split, ValueError):
            # Retried on the next run: a statement without the share could never get it back.
            _LOGGER.error("statement of %s from %s postponed: %s", tenant_id, start.date(), split)
            continue
        shares = split.get(tenant_id, [])
        previous = _previous_books(connection, tenant_id, start_us)
        if previous is None:  # the tenant's first statement: what was posted before its period
            opening_minor = _balance_before(connection, account, start_us)
            credits_after: int | tuple[int, None] = (start_us, None)
        else:
            opening_minor = previous["closing_minor"]
            credits_after = previous["journal_through"]
        statement = build_statement(
            tenant_id=tenant_id,
            start=start,
            end=end,
            schedule=schedule,
            readings=[
                r
                for point in sorted({a.point_id for a in held})
                for r in readings_near(connection, point, start_s, end_s)
            ],
            assignments=held,
            opening_balance=Money(currency=catalog.currency, minor=opening_minor),
            credits=_credits(connection, account, catalog.currency, credits_after),
            allocations=shares,
            quota=plan.quota,
        )
        shared_minor = _post_shares(
            connection, catalog, tenant_id=tenant_id, start=start, shares=shares, now_us=now_us
        )
        posted = (
            connection.execute(
                sa.select(rating_periods.c.posted_minor).where(
                    (rating_periods.c.tenant_id == tenant_id)
                    & (rating_periods.c.period_start_us == start_us)
                )
            ).scalar()
            or 0
        )
        standing_minor = posted_standing(
            connection,
            tenant_id,
            start.astimezone(catalog.zone).date(),
            end.astimezone(catalog.zone).date(),
        )
        settlement = statement.charges.total.minor - posted - shared_minor - standing_minor
        entry_id = None
        if settlement:
            entry_id = journal_store.append(
                connection,
                Posting(
                    kind="statement",
                    currency=catalog.currency,
                    actor=SYSTEM_ACTOR,
                    reason=f"statement from {start.date()}: standing charge, rounding, tax",
                    tenant_id=tenant_id,
                    legs=(
                        Leg(account=account, amount_minor=-settlement),
                        Leg(account=BILLING_INCOME, amount_minor=settlement),
                    ),
                ),
                now_us,
            ).id
        billing_plan = plan.billing_plan(catalog.currency)
        due = (
            billing_plan.due_at(end, catalog.zone)
            if isinstance(billing_plan, PostpaidPlan)
            else end
        )
        document = statement_document(
            statement, tenant_name=record.name, issued=from_us(now_us), due=due, zone=catalog.zone
        )
        _reconcile(
            connection,
            catalog,
            document,
            tenant_id=tenant_id,
            period=(start_us, end_us),
            closing_minor=statement.closing_balance.minor,
            previous=previous,
        )
        sealed.insert(  # with its id and keyed hash (db/sealed.py)
            connection,
            sealed.STATEMENTS,
            [
                {
                    "tenant_id": tenant_id,
                    "period_start_us": start_us,
                    "period_end_us": end_us,
                    "issued_at_us": now_us,
                    "due_at_us": to_us(due),
                    "currency": catalog.currency,
                    "total_minor": statement.charges.total.minor,
                    "body": json.dumps(document),
                    "journal_entry_id": entry_id,
                }
            ],
        )
        issued.append(tenant_id)
    return issued


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
            kind="common_area",
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


BOOKS = "books"
"""Key of the statement document's bookkeeping: where in the journal the statement ends."""


def _previous_books(
    connection: sa.Connection, tenant_id: str, start_us: int
) -> dict[str, Any] | None:
    """The bookkeeping of the tenant's last statement issued before the period ``start_us``."""
    for (body,) in connection.execute(
        sa.select(statements.c.body)
        .where((statements.c.tenant_id == tenant_id) & (statements.c.period_start_us < start_us))
        .order_by(statements.c.period_start_us.desc())
    ):
        books = json.loads(body).get(BOOKS)
        if books is not None:
            return dict(books)
        return None  # issued before statements kept their books: the old rule
    return None


def _energy_rows(connection: sa.Connection, tenant_id: str) -> dict[int, tuple[int, int]]:
    """Per rating period (start): the minor units and Wh of energy posted so far."""
    return {
        row.period_start_us: (row.posted_minor, row.energy_wh)
        for row in connection.execute(
            sa.select(
                rating_periods.c.period_start_us,
                rating_periods.c.posted_minor,
                rating_periods.c.energy_wh,
            ).where(rating_periods.c.tenant_id == tenant_id)
        )
    }


def _reconcile(
    connection: sa.Connection,
    catalog: Catalog,
    document: dict[str, Any],
    *,
    tenant_id: str,
    period: tuple[int, int],
    closing_minor: int,
    previous: dict[str, Any] | None,
) -> None:
    """Make the statement end exactly where the tenant's account stands once it is issued.

    Opening balance = the previous statement's closing balance. Between them lie the period's
    charges and the credits since the previous statement, plus what the journal already holds
    for other periods: energy of already-issued periods rated after their statement ("late
    readings", charged here), charges of the next period posted before this statement
    ("charged ahead": deducted here, added back on the next statement as "charged earlier").
    """
    currency = catalog.currency
    start_us, end_us = period
    rows = _energy_rows(connection, tenant_id)
    seen: dict[str, list[int]] = {} if previous is None else dict(previous["energy_seen"])
    late: list[dict[str, str]] = []
    late_minor = 0
    for key, (was_minor, was_wh) in sorted(seen.items()):
        now_minor, now_wh = rows.get(int(key), (0, 0))
        if now_minor != was_minor or now_wh != was_wh:
            day = from_us(int(key)).astimezone(catalog.zone).date()
            late.append(
                {
                    "label": f"late readings for {day}",
                    "energy_kwh": format_kwh(now_wh - was_wh),
                    "amount": format_minor(now_minor - was_minor, currency),
                }
            )
            late_minor += now_minor - was_minor
        seen[key] = [now_minor, now_wh]
    minor, wh = rows.get(start_us, (0, 0))
    seen[str(start_us)] = [minor, wh]
    ahead = sum(m for s, (m, _wh) in rows.items() if s >= end_us) + posted_standing(
        connection, tenant_id, from_us(end_us).astimezone(catalog.zone).date(), date.max
    )
    earlier = 0 if previous is None else int(previous["ahead_minor"])
    closing = closing_minor - late_minor - ahead + earlier
    document["late_readings"] = late
    document["charged_earlier"] = format_minor(earlier, currency)
    document["charged_ahead"] = format_minor(ahead, currency)
    document["closing_balance"] = format_minor(closing, currency)
    through = journal_store.head(connection)
    document[BOOKS] = {
        "journal_through": 0 if through is None else through[0],
        "closing_minor": closing,
        "ahead_minor": ahead,
        "energy_seen": seen,
    }
    balance = journal_store.balances(connection, [tenant_account(tenant_id)])
    if balance[tenant_account(tenant_id)] != closing:
        _LOGGER.error(
            "statement of %s from %s closes at %s, the account stands at %s",
            tenant_id,
            from_us(start_us).date(),
            closing,
            balance[tenant_account(tenant_id)],
        )
