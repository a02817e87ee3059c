"""Statement runs: on each billing day, every tenant's closed period becomes a statement.

The statement is the billing engine's ``build_statement`` over the stored readings, so it can
be rebuilt from raw data at any time. Energy was already posted as it arrived (rounded once
over the period); the run posts the rest of the statement total (standing charge, per-line
rounding and tax as the statement shows them) so that the journal and the statement agree.
"""

from collections.abc import Iterator
from datetime import datetime, timedelta
import json
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import (
    Credit,
    CreditKind,
    EnergyLine,
    Money,
    PostpaidPlan,
    Reading,
    StandingLine,
    Statement,
    billing_period,
    build_statement,
    format_kwh,
    format_minor,
    from_epoch,
)
from tenant_ledger.billing.timestamps import from_us, to_us
from tenant_ledger.db import journal_store
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.schema import journal, journal_legs, rating_periods, readings, statements
from tenant_ledger.journal import Leg, Posting, tenant_account
from tenant_ledger.rater import SYSTEM_ACTOR

BILLING_INCOME = "income:billing"
_CREDIT_KINDS = {"top_up": CreditKind.TOP_UP, "adjustment": CreditKind.ADJUSTMENT}


def _point_readings(
    connection: sa.Connection, point_id: str, start_s: int, end_s: int
) -> Iterator[Reading]:
    """The point's readings in the period plus the nearest one outside each edge."""
    where = readings.c.point_id == point_id
    before = connection.execute(
        sa.select(sa.func.max(readings.c.ts)).where(where & (readings.c.ts <= start_s))
    ).scalar()
    after = connection.execute(
        sa.select(sa.func.min(readings.c.ts)).where(where & (readings.c.ts >= end_s))
    ).scalar()
    low = start_s if before is None else before
    high = end_s if after is None else after
    query = sa.select(readings.c.ts, readings.c.energy_wh).where(
        where & readings.c.ts.between(low, high)
    )
    for row in connection.execute(query):
        yield Reading(point_id=point_id, ts=from_epoch(row.ts), energy_wh=row.energy_wh)


def _credits(
    connection: sa.Connection, account: str, currency: str, start_us: int, end_us: int
) -> list[Credit]:
    query = (
        sa.select(journal.c.ts_us, journal.c.kind, journal.c.reason, journal_legs.c.amount_minor)
        .join(journal_legs, journal_legs.c.entry_id == journal.c.id)
        .where(
            (journal_legs.c.account == account)
            & journal.c.kind.in_(list(_CREDIT_KINDS))
            & (journal.c.ts_us >= start_us)
            & (journal.c.ts_us < end_us)
        )
    )
    return [
        Credit(
            ts=from_us(row.ts_us),
            kind=_CREDIT_KINDS[row.kind],
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
    issued = []
    for tenant_id, record in catalog.tenants.items():
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
        statement = build_statement(
            tenant_id=tenant_id,
            start=start,
            end=end,
            schedule=schedule,
            readings=[
                r
                for point in sorted({a.point_id for a in held})
                for r in _point_readings(connection, point, start_s, end_s)
            ],
            assignments=held,
            opening_balance=Money(
                currency=catalog.currency, minor=_balance_before(connection, account, start_us)
            ),
            credits=_credits(connection, account, catalog.currency, start_us, end_us),
            quota=plan.quota,
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
        settlement = statement.charges.total.minor - posted
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
        connection.execute(
            statements.insert().values(
                tenant_id=tenant_id,
                period_start_us=start_us,
                period_end_us=end_us,
                issued_at_us=now_us,
                due_at_us=to_us(due),
                currency=catalog.currency,
                total_minor=statement.charges.total.minor,
                body=json.dumps(document),
                journal_entry_id=entry_id,
            )
        )
        issued.append(tenant_id)
    return issued
