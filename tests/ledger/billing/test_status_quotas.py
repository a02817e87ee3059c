"""Quotas of several resources in the tenant status: only the supply's own cuts anything.

Home Assistant's only switch is the electricity breaker. A used-up hard-capped electricity
allowance makes the status ``quota_exhausted``; a used-up hard-capped water, gas or heat
allowance leaves the state as the account makes it and names itself in the reason.
"""

from decimal import Decimal

from hypothesis import given, strategies as st

from tenant_ledger.billing import (
    Quota,
    QuotaState,
    SupplyAction,
    TenantState,
    quota_state,
    supply_action,
)
from tenant_ledger.billing.resources import Resource

from .helpers import at
from .test_status import prepaid

WATER_CAP = quota_state(Quota(included_wh=5_000), 5_001)  # 5 m³ hard cap, 5.001 m³ used
POWER_CAP = quota_state(Quota(included_wh=50_000), 50_000)  # 50 kWh hard cap, all used


def test_a_used_up_water_cap_is_named_in_the_reason_and_cuts_nothing():
    status = prepaid("40.00", quotas={Resource.WATER: WATER_CAP})
    assert (status.state, status.reason) == (
        TenantState.OK,
        "balance 40.00 EUR; water allowance of 5.000 m³ used up",
    )
    assert supply_action(status, supply_off=False, cause=None) is SupplyAction.NONE


def test_an_exact_water_cap_is_used_up_and_one_litre_less_is_not():
    at_cap = quota_state(Quota(included_wh=5_000), 5_000)
    assert prepaid("40.00", quotas={Resource.WATER: at_cap}).reason.endswith(
        "; water allowance of 5.000 m³ used up"
    )
    below = quota_state(Quota(included_wh=5_000), 4_999)
    assert prepaid("40.00", quotas={Resource.WATER: below}).reason == "balance 40.00 EUR"


def test_a_water_allowance_with_an_overage_price_changes_nothing_in_the_status():
    overage = quota_state(Quota(included_wh=5_000, overage_rate=Decimal("2.50")), 9_000)
    status = prepaid("40.00", quotas={Resource.WATER: overage})
    assert (status.state, status.reason) == (TenantState.OK, "balance 40.00 EUR")


def test_the_electricity_cap_makes_quota_exhausted_and_other_caps_follow_in_the_reason():
    heat = quota_state(Quota(included_wh=1_500_000), 1_500_000)  # 1500 kWh of heat
    status = prepaid(
        "40.00",
        quotas={Resource.HEAT: heat, Resource.WATER: WATER_CAP, Resource.ELECTRICITY: POWER_CAP},
    )
    assert (status.state, status.reason) == (
        TenantState.QUOTA_EXHAUSTED,
        "allowance of 50.000 kWh used up; water allowance of 5.000 m³ used up; "
        "heat allowance of 1500.000 kWh used up",
    )


def test_a_used_up_gas_cap_rides_along_with_arrears_and_the_cut_off_they_cause():
    gas = quota_state(Quota(included_wh=0), 0)  # no gas included at all
    previous = prepaid("-20.00", now=at("2026-01-10T12:00:00+01:00"))
    due = prepaid("-20.00", previous=previous, quotas={Resource.GAS: gas})
    assert due.state is TenantState.DISCONNECT_DUE
    assert due.reason == (
        "balance -20.00 EUR is beyond the credit limit of 10.00 EUR; "
        "gas allowance of 0.000 m³ used up"
    )
    # The cut-off is for the arrears, as without the gas cap.
    assert supply_action(due, supply_off=False, cause=None) is SupplyAction.CUT


def _quota_states():
    return st.builds(
        lambda included, used, hard_cap: QuotaState(
            included_wh=included, used_wh=used, hard_cap=hard_cap
        ),
        st.integers(min_value=0, max_value=10**12),
        st.integers(min_value=0, max_value=10**12),
        st.booleans(),
    )


@given(
    quotas=st.dictionaries(st.sampled_from(Resource), _quota_states()),
    balance=st.sampled_from(["40.00", "3.00", "-4.00"]),
)
def test_only_the_electricity_cap_decides_the_state_and_every_used_up_cap_is_named(quotas, balance):
    without = prepaid(balance)
    status = prepaid(balance, quotas=quotas)
    power = quotas.get(Resource.ELECTRICITY)
    if power is not None and power.hard_cap and power.exhausted:
        assert status.state is TenantState.QUOTA_EXHAUSTED
    else:
        assert (status.state, status.since) == (without.state, without.since)
    for resource in (Resource.WATER, Resource.GAS, Resource.HEAT):
        quota = quotas.get(resource)
        named = f"{resource} allowance of " in status.reason
        assert named == (quota is not None and quota.hard_cap and quota.exhausted)
    # No allowance of any resource ever asks Home Assistant to cut the supply.
    assert supply_action(status, supply_off=False, cause=None) is SupplyAction.NONE
