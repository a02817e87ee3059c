"""Plausibility of a register reading: worked examples in exact integers."""

from tenant_ledger.billing.plausibility import (
    Implausible,
    Register,
    check_reading,
    check_rise,
    check_time,
)

NOW = 1_794_312_000  # 2026-11-10 12:00 UTC


def test_one_kilowatt_for_an_hour_plus_one_register_step_is_the_limit() -> None:
    start = Register(NOW - 7200, 5_000)
    assert check_rise(start, Register(NOW - 3600, 6_001), 1000) is None
    verdict = check_rise(start, Register(NOW - 3600, 6_002), 1000)
    assert verdict is not None
    assert verdict.reason is Implausible.ABOVE_MAX_POWER
    assert verdict.detail == (
        f"1002 Wh in 3600 s (from {NOW - 7200} to {NOW - 3600}) is an average of 1002 W, "
        "above the point's maximum of 1000 W"
    )


def test_one_watt_hour_in_one_second_passes_as_a_register_step() -> None:
    assert check_rise(Register(NOW, 10), Register(NOW + 1, 11), 1) is None
    assert check_rise(Register(NOW, 10), Register(NOW + 1, 12), 1) is not None


def test_a_falling_register_is_a_reset_not_implausible() -> None:
    assert check_rise(Register(NOW, 10**15), Register(NOW + 1, 0), 1) is None


def test_time_is_checked_against_2000_and_one_day_ahead() -> None:
    assert check_time(946_684_800, NOW) is None
    assert check_time(NOW + 86_400, NOW) is None
    too_early = check_time(946_684_799, NOW)
    too_late = check_time(NOW + 86_401, NOW)
    assert too_early is not None
    assert too_late is not None
    assert (too_early.reason, too_late.reason) == (Implausible.BEFORE_2000, Implausible.FUTURE)


def test_a_late_reading_is_checked_against_both_neighbours() -> None:
    before, after = Register(NOW - 3600, 0), Register(NOW, 1000)
    assert (
        check_reading(
            Register(NOW - 1800, 500), previous=before, following=after, max_power_w=1000, now_s=NOW
        )
        is None
    )
    # 0 -> 0 is fine, but 0 -> 1000 Wh in the following 1800 s is 2 kW.
    verdict = check_reading(
        Register(NOW - 1800, 0), previous=before, following=after, max_power_w=1000, now_s=NOW
    )
    assert verdict is not None
    assert verdict.reason is Implausible.ABOVE_MAX_POWER
    # A point's first reading: only its time is checked.
    assert (
        check_reading(
            Register(NOW, 10**15), previous=None, following=None, max_power_w=1, now_s=NOW
        )
        is None
    )
