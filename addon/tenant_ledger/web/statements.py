"""Statements rebuilt from stored readings with the billing engine, as HTML rows and CSV.

Each row keeps the band that priced it, so the page can link a line to the tariff band and to
the readings of the period: a tenant can redo every number by hand.
"""

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
import io
import json
from typing import Any

import sqlalchemy as sa

from tenant_ledger.billing import (
    AllocationLine,
    Charges,
    Credit,
    CreditKind,
    EnergyLine,
    Money,
    StandingLine,
    Statement,
    billing_period,
    build_statement,
    format_kwh,
)
from tenant_ledger.billing.timestamps import from_us, supported_day, to_epoch, to_us
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.schema import statements
from tenant_ledger.shared_costs import common_shares
from tenant_ledger.web.queries import balance_before, credits_between, readings_around

MAX_PERIODS = 12


@dataclass(frozen=True, kw_only=True, slots=True)
class Period:
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        return self.start.date().isoformat()

    @property
    def last_day(self) -> date:
        """The period's last local day (``end`` is the next period's first instant)."""
        return (self.end - timedelta(days=1)).date()


def periods(catalog: Catalog, tenant_id: str, now_us: int) -> list[Period]:
    """The tenant's billing periods since its first move-in, newest first (at most 12)."""
    held = [item.start_us for item in catalog.assignments if item.tenant_id == tenant_id]
    if not held:
        return []
    day, zone = catalog.plan_of(tenant_id).billing_day, catalog.zone
    found: list[Period] = []
    start, end = billing_period(day, from_us(now_us), zone)
    while to_us(end) > min(held) and len(found) < MAX_PERIODS:
        found.append(Period(start=start, end=end))
        start, end = billing_period(day, from_us(to_us(start) - 1), zone)
    return found


def find_period(catalog: Catalog, tenant_id: str, key: str) -> Period | None:
    """The tenant's period starting on the local date ``key`` (YYYY-MM-DD), if it is one."""
    try:
        day = date.fromisoformat(key)
    except ValueError:
        return None
    if not supported_day(day):
        return None
    zone = catalog.zone
    start, end = billing_period(
        catalog.plan_of(tenant_id).billing_day,
        datetime.combine(day, time(12), tzinfo=zone),
        zone,
    )
    return Period(start=start, end=end) if start.date() == day else None


def load_statement(
    connection: sa.Connection, catalog: Catalog, tenant_id: str, period: Period
) -> Statement | str:
    """The statement, or why there is none (no tariff in force for the period)."""
    schedule = catalog.schedule_of(tenant_id)
    if schedule is None:
        return "the tenant's plan has no tariff"
    currency, start_us, end_us = catalog.currency, to_us(period.start), to_us(period.end)
    points = {item.point_id for item in catalog.assignments if item.tenant_id == tenant_id}
    try:
        shares = common_shares(connection, catalog, tenant_id, period.start, period.end)
    except ValueError as err:
        return str(err)
    credits = [
        Credit(
            ts=from_us(row.ts_us),
            kind=CreditKind(row.kind),
            amount=Money(currency=currency, minor=row.amount_minor),
            description=row.reason,
        )
        for row in credits_between(connection, tenant_id, start_us, end_us)
    ]
    try:
        return build_statement(
            tenant_id=tenant_id,
            start=period.start,
            end=period.end,
            schedule=schedule,
            readings=readings_around(
                connection, points, to_epoch(period.start), to_epoch(period.end)
            ),
            assignments=catalog.assignments,
            opening_balance=Money(
                currency=currency, minor=balance_before(connection, tenant_id, start_us)
            ),
            credits=credits,
            allocations=shares,
            quota=catalog.plan_of(tenant_id).quota,
        )
    except ValueError as err:
        return str(err)


def issued_periods(connection: sa.Connection, catalog: Catalog, tenant_id: str) -> set[str]:
    """Keys (local start dates) of the tenant's periods with an issued, stored statement."""
    starts = connection.execute(
        sa.select(statements.c.period_start_us).where(statements.c.tenant_id == tenant_id)
    ).scalars()
    return {from_us(start).astimezone(catalog.zone).date().isoformat() for start in starts}


def issued_document(
    connection: sa.Connection, tenant_id: str, period: Period
) -> dict[str, Any] | None:
    """The statement issued for the tenant's ``period`` (the API's JSON), if there is one."""
    row = connection.execute(
        sa.select(statements.c.id, statements.c.body).where(
            (statements.c.tenant_id == tenant_id)
            & (statements.c.period_start_us == to_us(period.start))
        )
    ).first()
    if row is None:
        return None
    document: dict[str, Any] = {"id": row.id, **json.loads(row.body)}
    return document


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    label: str
    quantity: str
    unit_price: str
    amount: str
    band: str


def charge_rows(charges: Charges) -> list[Row]:
    rows = []
    for item in charges.lines:
        line = item.line
        if isinstance(line, EnergyLine):
            quantity, unit = f"{format_kwh(line.energy_wh)} kWh", f"{line.unit_price} / kWh"
        elif isinstance(line, StandingLine):
            days = Decimal(line.days.numerator) / Decimal(line.days.denominator)
            quantity, unit = f"{days:.2f} days", f"{line.daily_charge} / day"
        elif isinstance(line, AllocationLine):
            quantity, unit = f"{format_kwh(line.energy_wh)} kWh", "shared"
        else:
            quantity, unit = "", ""
        rows.append(
            Row(
                label=line.label,
                quantity=quantity,
                unit_price=unit,
                amount=str(item.amount),
                band=line.label,
            )
        )
    return rows


def statement_csv(statement: Statement) -> str:
    """One line per charge, tax, credit and point reading: the statement as a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "label", "quantity", "unit_price", "amount", "currency"])
    currency = statement.currency
    writer.writerow(
        ["opening", "opening balance", "", "", str(statement.opening_balance), currency]
    )
    for row in charge_rows(statement.charges):
        writer.writerow(["charge", row.label, row.quantity, row.unit_price, row.amount, currency])
    for tax in statement.charges.taxes:
        writer.writerow(["tax", f"tax {tax.rate}", str(tax.base), str(tax.rate), str(tax.tax)])
    writer.writerow(["total", "total charges", "", "", str(statement.charges.total), currency])
    for credit in statement.credits:
        when = credit.ts.isoformat()
        writer.writerow(["credit", f"{credit.kind} {when}", "", "", str(credit.amount), currency])
    writer.writerow(
        ["closing", "closing balance", "", "", str(statement.closing_balance), currency]
    )
    for point in statement.points:
        for name, reading in (("first", point.first_reading), ("last", point.last_reading)):
            if reading is not None:
                label = f"{point.point_id} {name} reading {reading.ts.isoformat()}"
                writer.writerow(["reading", label, f"{reading.energy_wh} Wh", "", "", ""])
    return out.getvalue()
