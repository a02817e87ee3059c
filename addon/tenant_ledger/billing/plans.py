"""Payment plans: prepaid (pay first, cut off when credit runs out) and postpaid (bill, then due).

All dates are local to the tenant's tariff time zone: a billing day or due date starts at local
midnight, so "due in 14 days" means 14 calendar days whatever DST does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tenant_ledger.billing.money import Money
from tenant_ledger.billing.timestamps import from_us, local_date, to_us, wall_to_us


class PlanKind(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


@dataclass(frozen=True, kw_only=True)
class PrepaidPlan:
    """Balance thresholds of a prepaid account.

    ``low_balance``: below it the tenant is warned. ``credit_limit``: emergency credit, how far
    below zero the balance may go before arrears. ``reconnect_minimum``: balance needed before a
    disconnected supply is restored. ``grace``: time in arrears before a cut-off is due.
    """

    low_balance: Money
    credit_limit: Money
    reconnect_minimum: Money
    grace: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if (
            len(
                {
                    self.low_balance.currency,
                    self.credit_limit.currency,
                    self.reconnect_minimum.currency,
                }
            )
            > 1
        ):
            raise ValueError("a plan's amounts must share one currency")
        if self.credit_limit.minor < 0 or self.grace < timedelta(0):
            raise ValueError("credit limit and grace must not be negative")


@dataclass(frozen=True, kw_only=True)
class PostpaidPlan:
    """Monthly bills from ``billing_day``, due ``due_days`` later, cut-off ``grace_days`` after."""

    billing_day: int
    due_days: int
    grace_days: int

    def __post_init__(self) -> None:
        if not 1 <= self.billing_day <= 28:
            raise ValueError("billing_day must be 1..28 so that every month has it")
        if self.due_days < 0 or self.grace_days < 0:
            raise ValueError("due_days and grace_days must not be negative")

    def due_at(self, period_end: datetime, zone: ZoneInfo) -> datetime:
        """When the statement of the period ending at ``period_end`` must be paid."""
        return _local_midnight(_date_of(period_end, zone) + timedelta(days=self.due_days), zone)

    def disconnect_from(self, due: datetime, zone: ZoneInfo) -> datetime:
        """Earliest instant an unpaid bill due at ``due`` may lead to a cut-off."""
        return _local_midnight(_date_of(due, zone) + timedelta(days=self.grace_days), zone)


type Plan = PrepaidPlan | PostpaidPlan


def billing_period(billing_day: int, at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of the monthly period starting on ``billing_day`` that contains ``at``."""
    today = _date_of(at, zone)
    year, month = today.year, today.month
    if today.day < billing_day:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    next_year, next_month = (year, month + 1) if month < 12 else (year + 1, 1)
    return (
        _local_midnight(date(year, month, billing_day), zone),
        _local_midnight(date(next_year, next_month, billing_day), zone),
    )


def _date_of(instant: datetime, zone: ZoneInfo) -> date:
    return local_date(to_us(instant), zone)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return from_us(wall_to_us(day, 0, zone)).astimezone(zone)
