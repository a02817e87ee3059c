"""Energy register guard: spikes rejected, resets flagged, float noise never decreases Wh."""

from decimal import Decimal

import pytest

from custom_components.tenant_metering.sources.modbus.core.energy import (
    CONFIRM_AFTER,
    EnergyGuard,
    EnergyVerdict,
)
from custom_components.tenant_metering.units import to_wh

ONE_WH = Decimal(1)
# A 32 A room at 230 V: 7360 W, with the 1.6 overload margin 11 776 W = 3.27 Wh per second.
ROOM = Decimal(32 * 230)


def guard() -> EnergyGuard:
    return EnergyGuard(name="room 201", max_power_w=ROOM)


def test_half_watt_hours_round_up() -> None:
    assert [to_wh(Decimal(v)) for v in ("0.5", "1234.4999", "1234.5", "7")] == [1, 1234, 1235, 7]


def test_plausible_increase_is_accepted() -> None:
    energy = guard()
    assert energy.check(Decimal(1_000_000), step_wh=ONE_WH, now=0) == EnergyVerdict(
        energy_wh=1_000_000
    )
    assert energy.check(Decimal(1_000_030), step_wh=ONE_WH, now=10).energy_wh == 1_000_030


def test_spike_is_rejected_and_logged_and_the_baseline_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    energy = guard()
    energy.check(Decimal(1_000_000), step_wh=ONE_WH, now=0)
    spike = energy.check(Decimal(9_000_000), step_wh=ONE_WH, now=10)
    assert spike == EnergyVerdict(energy_wh=None, rejected=True)
    assert "rejected energy spike 1000000 Wh → 9000000 Wh" in caplog.text
    assert energy.check(Decimal(1_000_060), step_wh=ONE_WH, now=20).energy_wh == 1_000_060


def test_allowance_grows_with_elapsed_time() -> None:
    energy = guard()
    energy.check(Decimal(0), step_wh=ONE_WH, now=0)
    assert energy.check(Decimal(11_700), step_wh=ONE_WH, now=3600).energy_wh == 11_700
    assert energy.check(Decimal(11_700 + 40), step_wh=ONE_WH, now=3610).rejected


def test_register_step_is_allowed_even_within_one_second() -> None:
    energy = guard()
    energy.check(Decimal(1000), step_wh=Decimal(10), now=0)
    assert energy.check(Decimal(1010), step_wh=Decimal(10), now=0.5).energy_wh == 1010


def test_counter_decrease_is_accepted_as_a_flagged_reset(caplog: pytest.LogCaptureFixture) -> None:
    energy = guard()
    energy.check(Decimal(5_000_000), step_wh=ONE_WH, now=0)
    reset = energy.check(Decimal(12), step_wh=ONE_WH, now=10)
    assert reset == EnergyVerdict(energy_wh=12, counter_reset=True)
    assert "treated as a reset" in caplog.text
    assert energy.check(Decimal(20), step_wh=ONE_WH, now=20) == EnergyVerdict(energy_wh=20)


def test_float_noise_within_one_ulp_never_decreases_the_reading() -> None:
    energy = guard()
    ulp = Decimal("7.8125")  # f32 kWh near 100 000 kWh
    energy.check(Decimal(100_000_000), step_wh=ulp, now=0)
    clamped = energy.check(Decimal(100_000_000) - ulp, step_wh=ulp, now=10)
    assert clamped == EnergyVerdict(energy_wh=100_000_000)


def test_a_jump_that_persists_becomes_a_new_flagged_baseline() -> None:
    energy = guard()
    energy.check(Decimal(1000), step_wh=ONE_WH, now=0)
    verdicts = [
        energy.check(Decimal(5_000_000 + i), step_wh=ONE_WH, now=10 + i)
        for i in range(CONFIRM_AFTER)
    ]
    assert all(v.rejected for v in verdicts[:-1])
    assert verdicts[-1] == EnergyVerdict(
        energy_wh=5_000_000 + CONFIRM_AFTER - 1, counter_reset=True
    )


def test_scattered_spikes_never_confirm() -> None:
    energy = guard()
    energy.check(Decimal(1000), step_wh=ONE_WH, now=0)
    for index, value in enumerate([9_000_000, 4_000_000, 9_000_000, 4_000_000]):
        assert energy.check(Decimal(value), step_wh=ONE_WH, now=10 + index).rejected
