"""Tenant status: what Home Assistant's cut-off and restore automations act on.

A pure function of the account's situation. It fails safe: a missing balance, an unknown supply
state or anything else unknown never produces ``disconnect_due``, because cutting someone's
power on a guess is worse than billing them late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from tenant_ledger.billing.money import Money
from tenant_ledger.billing.plans import Plan, PrepaidPlan
from tenant_ledger.billing.quota import QuotaState
from tenant_ledger.billing.readings import format_kwh
from tenant_ledger.billing.resources import Resource, format_usage
from tenant_ledger.billing.timestamps import require_aware

SUPPLY_RESOURCE: Final = Resource.ELECTRICITY
"""The resource whose supply Home Assistant switches: the tenant's electricity breaker.

Only its hard-capped allowance makes the status ``quota_exhausted``. A used-up hard cap of
water, gas or heat cannot be enforced by cutting the electricity (a hostel does not turn off
the lights over a long shower); it is named in the reason, whatever the state.
"""


class TenantState(StrEnum):
    OK = "ok"
    LOW = "low"
    ARREARS = "arrears"
    DISCONNECT_DUE = "disconnect_due"
    DISCONNECTED = "disconnected"
    EXEMPT = "exempt"
    QUOTA_EXHAUSTED = "quota_exhausted"


class SupplyCause(StrEnum):
    """Why a tenant's supply is off, as Home Assistant reported it."""

    ARREARS = "arrears"
    """Cut by the ledger's decision (``disconnect_due``), carried out by Home Assistant."""
    LANDLORD = "landlord"
    """Switched off by hand: only the landlord switches it back on."""
    SAFETY = "safety"
    """A breaker tripped or was cut for safety: only the landlord switches it back on."""


class SupplyAction(StrEnum):
    """What Home Assistant's executor should do with the tenant's supply now."""

    CUT = "cut"
    RESTORE = "restore"
    NONE = "none"


@dataclass(frozen=True, kw_only=True)
class Status:
    """State with a human reason, when it began, and when the arrears began (if in arrears)."""

    state: TenantState
    reason: str
    since: datetime
    arrears_since: datetime | None = None
    awaiting_approval: bool = False
    """A cut-off is due but waits for the landlord's approval (``approved``)."""


@dataclass(frozen=True, kw_only=True)
class Exemption:
    """No cut-off for this tenant (medical equipment, a dispute...) until ``until`` (None: ever)."""

    reason: str
    until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    """Local times when no cut-off may happen; ``end`` before ``start`` wraps past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """``HH:MM-HH:MM`` (e.g. ``20:00-08:00``); "" or equal ends: no quiet hours."""
        if not text.strip():
            return None
        parts = text.strip().split("-")
        try:
            if len(parts) != 2:
                raise ValueError(text)
            start, end = (time.fromisoformat(part.strip()) for part in parts)
        except ValueError:
            raise ValueError(f"quiet hours must be HH:MM-HH:MM, not {text!r}") from None
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"quiet hours are local times without an offset, not {text!r}")
        return None if start == end else cls(start=start, end=end)

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, kw_only=True)
class _Position:
    """The account's financial position, before supply, quota and exemptions are considered."""

    state: TenantState
    reason: str
    arrears_since: datetime | None = None
    cut_off_from: datetime | None = None
    reconnect_needs: str | None = None
    """What is missing before a disconnected supply may be restored; None: nothing."""


def tenant_status(
    *,
    plan: Plan,
    balance: Money | None,
    now: datetime,
    zone: ZoneInfo,
    supply_disconnected: bool | None,
    previous: Status | None = None,
    exemption: Exemption | None = None,
    quotas: Mapping[Resource, QuotaState] | None = None,
    quiet_hours: QuietHours | None = None,
    oldest_unpaid_due: datetime | None = None,
    supply_cause: SupplyCause | None = None,
    approval_required: bool = False,
    approved: bool = False,
) -> Status:
    """The tenant's status at ``now``.

    ``balance``: positive means the tenant is in credit; None when unknown. ``zone``: the
    tenant's local time zone (quiet hours, postpaid dates). ``supply_disconnected``: whether the
    supply is off right now (None: unknown). ``oldest_unpaid_due``: postpaid, the due date of the
    oldest statement not fully paid. ``previous`` carries ``since`` and ``arrears_since`` forward.
    ``supply_cause``: why a disconnected supply is off; switched off by the landlord or for
    safety (not an arrears cut-off), it stays ``disconnected`` whatever the balance.
    ``approval_required``: a due cut-off waits for ``approved`` (the landlord's setting, or the
    mass-disconnection guard tripped). ``quotas``: the period's allowance of each resource
    that has one; see ``SUPPLY_RESOURCE`` for which of them may make ``quota_exhausted``.
    """
    require_aware(now, "now")
    capped = _hard_caps_used_up(quotas or {})
    # The other resources' used-up caps are told, never acted on (see SUPPLY_RESOURCE).
    noted = "".join(
        f"; {resource} allowance of {format_usage(quota.included_wh, resource)} used up"
        for resource, quota in capped.items()
        if resource is not SUPPLY_RESOURCE
    )

    def status(
        state: TenantState,
        reason: str,
        arrears_since: datetime | None = None,
        *,
        awaiting_approval: bool = False,
    ) -> Status:
        unchanged = previous is not None and previous.state is state
        since = previous.since if previous is not None and unchanged else now
        return Status(
            state=state,
            reason=reason + noted,
            since=since,
            arrears_since=arrears_since,
            awaiting_approval=awaiting_approval,
        )

    if supply_disconnected and supply_cause in (SupplyCause.LANDLORD, SupplyCause.SAFETY):
        who = "for safety" if supply_cause is SupplyCause.SAFETY else "by the landlord"
        return status(
            TenantState.DISCONNECTED,
            f"supply switched off {who}; only the landlord switches it on again",
            None if previous is None else previous.arrears_since,
        )
    if exemption is not None and (exemption.until is None or now < exemption.until):
        return status(TenantState.EXEMPT, f"exempt from cut-off: {exemption.reason}")
    position = _position(
        plan=plan,
        balance=balance,
        now=now,
        zone=zone,
        previous=previous,
        oldest_unpaid_due=oldest_unpaid_due,
    )
    if position is None:
        kept = TenantState.OK if previous is None else previous.state
        if supply_disconnected:
            kept = TenantState.DISCONNECTED
        elif kept in (TenantState.DISCONNECT_DUE, TenantState.DISCONNECTED):
            kept = TenantState.ARREARS
        return status(
            kept,
            "balance unknown: last known status kept, no cut-off requested",
            None if previous is None else previous.arrears_since,
        )
    exhausted = None
    if (supply_cap := capped.get(SUPPLY_RESOURCE)) is not None:
        exhausted = f"allowance of {format_kwh(supply_cap.included_wh)} kWh used up"
    if supply_disconnected and position.reconnect_needs:
        reason = f"{position.reason}; {position.reconnect_needs}"
        return status(TenantState.DISCONNECTED, reason, position.arrears_since)
    if supply_disconnected and exhausted:
        return status(TenantState.DISCONNECTED, exhausted, position.arrears_since)
    if position.cut_off_from is not None:
        wait = _cut_off_wait(position.cut_off_from, now, zone, supply_disconnected, quiet_hours)
        if wait is None and approval_required and not approved:
            return status(
                TenantState.ARREARS,
                f"{position.reason}; cut-off awaits the landlord's approval",
                position.arrears_since,
                awaiting_approval=True,
            )
        if wait is None:
            return status(TenantState.DISCONNECT_DUE, position.reason, position.arrears_since)
        if exhausted:
            return status(TenantState.QUOTA_EXHAUSTED, exhausted, position.arrears_since)
        return status(TenantState.ARREARS, f"{position.reason}; {wait}", position.arrears_since)
    if exhausted:
        return status(TenantState.QUOTA_EXHAUSTED, exhausted)
    return status(position.state, position.reason)


def _hard_caps_used_up(quotas: Mapping[Resource, QuotaState]) -> dict[Resource, QuotaState]:
    """The hard-capped allowances used up, in the resources' order (a stable reason)."""
    return {
        resource: quota
        for resource in Resource
        if (quota := quotas.get(resource)) is not None and quota.hard_cap and quota.exhausted
    }


def supply_action(
    status: Status, supply_off: bool | None, cause: SupplyCause | None
) -> SupplyAction:
    """What the executor does now: cut a due supply that is on, restore an arrears cut-off.

    Fails safe: an unknown supply state is never cut, and a supply switched off by hand or for
    safety is never restored here (the status keeps it ``disconnected``).
    """
    if status.state is TenantState.DISCONNECT_DUE and supply_off is False:
        return SupplyAction.CUT
    restorable = (TenantState.OK, TenantState.LOW, TenantState.EXEMPT)
    if supply_off and cause is SupplyCause.ARREARS and status.state in restorable:
        return SupplyAction.RESTORE
    return SupplyAction.NONE


def _cut_off_wait(
    cut_off_from: datetime,
    now: datetime,
    zone: ZoneInfo,
    supply_disconnected: bool | None,
    quiet_hours: QuietHours | None,
) -> str | None:
    """Why an account in arrears is not (yet) due for cut-off; None when it is."""
    if supply_disconnected is None:
        return "supply state unknown, no cut-off requested"
    if now < cut_off_from:
        return f"cut-off not before {cut_off_from.astimezone(zone).isoformat()}"
    if quiet_hours is not None and quiet_hours.contains(now.astimezone(zone).time()):
        return f"quiet hours until {quiet_hours.end.isoformat('minutes')}"
    return None


def _position(
    *,
    plan: Plan,
    balance: Money | None,
    now: datetime,
    zone: ZoneInfo,
    previous: Status | None,
    oldest_unpaid_due: datetime | None,
) -> _Position | None:
    if not isinstance(plan, PrepaidPlan):
        if oldest_unpaid_due is None or now < oldest_unpaid_due:
            return _Position(state=TenantState.OK, reason="no bill overdue")
        return _Position(
            state=TenantState.ARREARS,
            reason=f"bill due {oldest_unpaid_due.astimezone(zone).date().isoformat()} unpaid",
            arrears_since=oldest_unpaid_due,
            cut_off_from=plan.disconnect_from(oldest_unpaid_due, zone),
            reconnect_needs="the overdue bill must be paid to reconnect",
        )
    if balance is None:
        return None
    reconnect_needs = None
    if balance < plan.reconnect_minimum:
        reconnect_needs = f"{_money(plan.reconnect_minimum)} needed to reconnect"
    if balance < -plan.credit_limit:
        arrears_since = now
        if previous is not None and previous.arrears_since is not None:
            arrears_since = previous.arrears_since
        return _Position(
            state=TenantState.ARREARS,
            reason=f"balance {_money(balance)} is beyond the credit limit of "
            f"{_money(plan.credit_limit)}",
            arrears_since=arrears_since,
            cut_off_from=arrears_since + plan.grace,
            reconnect_needs=reconnect_needs,
        )
    if balance < plan.low_balance:
        credit = " (using emergency credit)" if balance.minor < 0 else ""
        return _Position(
            state=TenantState.LOW,
            reason=f"balance {_money(balance)} below {_money(plan.low_balance)}{credit}",
            reconnect_needs=reconnect_needs,
        )
    return _Position(
        state=TenantState.OK, reason=f"balance {_money(balance)}", reconnect_needs=reconnect_needs
    )


def _money(amount: Money) -> str:
    return f"{amount} {amount.currency}"
