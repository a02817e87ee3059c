"""A tenant's billing periods and their statements: the issued document, or a preview.

Both come from the statement run's one builder (``statement_run.build_period_document``), so
the console and the portal show what the tenant is (or will be) billed, never a twin of it.
``charge_rows`` prices a tariff's lines for the tariff page's worked example.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
import json

import sqlalchemy as sa

from tenant_ledger.billing import (
    AllocationLine,
    Charges,
    EnergyLine,
    StandingLine,
    billing_period,
    format_kwh,
)
from tenant_ledger.billing.statement_document import Issuer, StatementDocument, from_json
from tenant_ledger.billing.timestamps import from_us, supported_day, to_us
from tenant_ledger.db.catalog import Catalog
from tenant_ledger.db.statement_inputs import issued_starts, previous_statement, statement_body
from tenant_ledger.shared_costs import common_shares
from tenant_ledger.statement_run import build_period_document

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


def period_document(
    connection: sa.Connection,
    catalog: Catalog,
    tenant_id: str,
    period: Period,
    *,
    issuer: Issuer,
    now_us: int,
) -> StatementDocument | str:
    """The issued statement of ``period``, or a preview of it up to now; or why there is none.

    The preview comes from the statement run's own builder over [start, now): the standing
    charge to date, the credits so far, opening where the previous statement closed.
    """
    body = statement_body(connection, tenant_id, to_us(period.start))
    if body is not None:
        return from_json(json.loads(body))
    start_us = to_us(period.start)
    end = min(period.end, from_us(max(now_us, start_us + 1)))
    try:
        document, _seen = build_period_document(
            connection,
            catalog,
            tenant_id,
            start=period.start,
            end=end,
            previous=previous_statement(connection, tenant_id, start_us),
            shares=common_shares(connection, catalog, tenant_id, period.start, end),
            issuer=issuer,
            now_us=now_us,
            number=None,
        )
    except ValueError as err:
        return str(err)
    return document


def issued_periods(connection: sa.Connection, catalog: Catalog, tenant_id: str) -> set[str]:
    """Keys (local start dates) of the tenant's periods with an issued, stored statement."""
    starts = issued_starts(connection, tenant_id)
    return {from_us(start).astimezone(catalog.zone).date().isoformat() for start in starts}


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
