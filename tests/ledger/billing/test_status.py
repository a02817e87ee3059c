"""Tenant status: thresholds, grace, quiet hours, reconnection, and failing safe."""

from datetime import time, timedelta

from hypothesis import given, settings, strategies as st

from tenant_ledger.billing import (
    Exemption,
    Money,
    PostpaidPlan,
    PrepaidPlan,
    QuietHours,
    Quota,
    Status,
    TenantState,
    billing_period,
    quota_state,
    tenant_status,
)
from tenant_ledger.billing.resources import Resource

from .helpers import BERLIN, at


def eur(text):
    return Money.of(text, "EUR")


PREPAID = PrepaidPlan(
    low_balance=eur("5.00"),
    credit_limit=eur("10.00"),
    reconnect_minimum=eur("20.00"),
    grace=timedelta(hours=24),
)
NIGHT = QuietHours(start=time(22, 0), end=time(7, 0))
NOON = at("2026-01-12T12:00:00+01:00")


def prepaid(balance, now=NOON, previous=None, supply_disconnected=False, **options):
    return tenant_status(
        plan=PREPAID,
        balance=None if balance is None else eur(balance),
        now=now,
        zone=BERLIN,
        supply_disconnected=supply_disconnected,
        previous=previous,
        quiet_hours=NIGHT,
        **options,
    )


def test_ok_low_and_emergency_credit():
    assert prepaid("12.00").state is TenantState.OK
    low = prepaid("3.00")
    assert (low.state, low.reason) == (TenantState.LOW, "balance 3.00 EUR below 5.00 EUR")
    emergency = prepaid("-4.00")
    assert emergency.state is TenantState.LOW
    assert emergency.reason == "balance -4.00 EUR below 5.00 EUR (using emergency credit)"


def test_arrears_become_disconnect_due_after_grace_outside_quiet_hours():
    first = prepaid("-12.00")
    assert (first.state, first.since, first.arrears_since) == (TenantState.ARREARS, NOON, NOON)
    assert first.reason == (
        "balance -12.00 EUR is beyond the credit limit of 10.00 EUR; "
        "cut-off not before 2026-01-13T12:00:00+01:00"
    )
    # 23:00 the next day: grace (24 h) is over, but it is quiet hours.
    night = prepaid("-12.00", now=at("2026-01-13T23:00:00+01:00"), previous=first)
    assert night.state is TenantState.ARREARS
    assert night.reason.endswith("; quiet hours until 07:00")
    assert (night.since, night.arrears_since) == (NOON, NOON)
    morning = prepaid("-12.00", now=at("2026-01-14T07:00:00+01:00"), previous=night)
    assert morning.state is TenantState.DISCONNECT_DUE
    assert morning.since == at("2026-01-14T07:00:00+01:00")
    assert morning.arrears_since == NOON


def test_prepaid_top_up_while_disconnected():
    # Cut off on the 14th with -12.00. Reconnection needs a balance of at least 20.00.
    cut = Status(
        state=TenantState.DISCONNECTED,
        reason="balance -12.00 EUR is beyond the credit limit of 10.00 EUR",
        since=at("2026-01-14T07:05:00+01:00"),
        arrears_since=NOON,
    )
    # A top-up of 25.00 brings the balance to 13.00: still below 20.00, stays disconnected.
    partial = prepaid("13.00", now=at("2026-01-15T09:00:00+01:00"), previous=cut,
                      supply_disconnected=True)  # fmt: skip
    assert partial.state is TenantState.DISCONNECTED
    assert partial.since == cut.since
    assert partial.reason == "balance 13.00 EUR; 20.00 EUR needed to reconnect"
    # Another 10.00: 23.00 >= 20.00, so the status is ok and the restore automation may act.
    restored = prepaid("23.00", now=at("2026-01-15T10:00:00+01:00"), previous=partial,
                       supply_disconnected=True)  # fmt: skip
    assert (restored.state, restored.since) == (TenantState.OK, at("2026-01-15T10:00:00+01:00"))
    assert restored.arrears_since is None


def test_exemption_wins_until_it_expires():
    exemption = Exemption(reason="medical equipment", until=at("2026-02-01T00:00:00+01:00"))
    status = prepaid("-50.00", exemption=exemption)
    assert (status.state, status.reason) == (
        TenantState.EXEMPT,
        "exempt from cut-off: medical equipment",
    )
    later = prepaid("-50.00", now=at("2026-02-01T00:00:00+01:00"), exemption=exemption)
    assert later.state is TenantState.ARREARS


def test_quota_exhausted_with_a_hard_cap():
    quota = quota_state(Quota(included_wh=50_000), 50_000)
    status = prepaid("40.00", quotas={Resource.ELECTRICITY: quota})
    assert (status.state, status.reason) == (
        TenantState.QUOTA_EXHAUSTED,
        "allowance of 50.000 kWh used up",
    )
    overage = quota_state(Quota(included_wh=50_000, overage_rate=eur("0.4").amount), 60_000)
    assert prepaid("40.00", quotas={Resource.ELECTRICITY: overage}).state is TenantState.OK


def test_postpaid_arrears_after_due_date_and_cut_off_after_grace():
    plan = PostpaidPlan(billing_day=1, due_days=14, grace_days=7)
    period = billing_period(plan.billing_day, at("2026-01-20T10:00:00+01:00"), BERLIN)
    assert period == (at("2026-01-01T00:00:00+01:00"), at("2026-02-01T00:00:00+01:00"))
    due = plan.due_at(period[1], BERLIN)
    assert due == at("2026-02-15T00:00:00+01:00")
    assert plan.disconnect_from(due, BERLIN) == at("2026-02-22T00:00:00+01:00")

    def status(now):
        return tenant_status(
            plan=plan,
            balance=eur("-80.00"),
            now=at(now),
            zone=BERLIN,
            supply_disconnected=False,
            oldest_unpaid_due=due,
        )

    assert status("2026-02-14T12:00:00+01:00").state is TenantState.OK
    arrears = status("2026-02-20T12:00:00+01:00")
    assert (arrears.state, arrears.arrears_since) == (TenantState.ARREARS, due)
    assert arrears.reason == (
        "bill due 2026-02-15 unpaid; cut-off not before 2026-02-22T00:00:00+01:00"
    )
    assert status("2026-02-22T12:00:00+01:00").state is TenantState.DISCONNECT_DUE


def test_billing_period_and_due_date_across_dst():
    # Periods from the 15th; due 14 days after 2026-03-15 is 2026-03-29, the day clocks
    # change: due at that day's local midnight, still CET.
    plan = PostpaidPlan(billing_day=15, due_days=14, grace_days=0)
    start, end = billing_period(15, at("2026-03-10T08:00:00+01:00"), BERLIN)
    assert (start, end) == (at("2026-02-15T00:00:00+01:00"), at("2026-03-15T00:00:00+01:00"))
    assert plan.due_at(end, BERLIN) == at("2026-03-29T00:00:00+01:00")


def test_unknown_balance_or_supply_state_never_asks_for_a_cut_off():
    due = prepaid("-12.00", now=at("2026-01-14T12:00:00+01:00"), previous=prepaid("-12.00"))
    assert due.state is TenantState.DISCONNECT_DUE
    no_balance = prepaid(None, now=at("2026-01-14T12:05:00+01:00"), previous=due)
    assert no_balance.state is TenantState.ARREARS
    assert no_balance.reason == "balance unknown: last known status kept, no cut-off requested"
    no_supply = prepaid("-12.00", now=at("2026-01-14T12:05:00+01:00"), previous=due,
                        supply_disconnected=None)  # fmt: skip
    assert no_supply.state is TenantState.ARREARS
    assert no_supply.reason.endswith("; supply state unknown, no cut-off requested")


states = st.sampled_from(list(TenantState))
instants = st.integers(min_value=0, max_value=90 * 24 * 3600).map(
    lambda seconds: NOON + timedelta(seconds=seconds)
)


@settings(max_examples=200, deadline=None)
@given(
    balance=st.one_of(st.none(), st.integers(min_value=-100_000, max_value=100_000)),
    supply=st.one_of(st.none(), st.booleans()),
    previous_state=st.one_of(st.none(), states),
    now=instants,
)
def test_missing_data_never_yields_disconnect_due(balance, supply, previous_state, now):
    previous = None
    if previous_state is not None:
        previous = Status(state=previous_state, reason="", since=NOON, arrears_since=NOON)
    status = tenant_status(
        plan=PREPAID,
        balance=None if balance is None else Money(currency="EUR", minor=balance),
        now=now,
        zone=BERLIN,
        supply_disconnected=supply,
        previous=previous,
    )
    if balance is None or supply is None:
        assert status.state is not TenantState.DISCONNECT_DUE
