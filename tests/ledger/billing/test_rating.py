"""Rating worked examples: tiers with a price change, TOU across DST and holidays, quotas."""

from decimal import Decimal
from fractions import Fraction

from tenant_ledger.billing import (
    Quota,
    TariffSchedule,
    TariffVersion,
    consumption,
    price,
    rate,
)

from .helpers import at, energy_by_band, flat, reading, tariff

D = Decimal
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def rated(schedule, start, end, *readings, **options):
    """Rate ``readings`` (point, ts, Wh) between the ISO instants ``start`` and ``end``."""
    points = consumption(reading(*item) for item in readings)
    intervals = [interval for point in points.values() for interval in point.intervals]
    return rate(intervals, schedule, start=at(start), end=at(end), **options)


def amounts(rating, currency="EUR"):
    charges = price([*rating.energy_lines, *rating.standing_lines], currency)
    return [str(line.amount) for line in charges.lines], charges


def tou(schedule, **extra):
    energy = {
        "type": "tou",
        "bands": {"peak": "0.30", "offpeak": "0.10", "night": "0.05"},
        "schedule": schedule,
        "default_band": "offpeak",
        **extra,
    }
    return TariffSchedule.single(tariff(energy, standing_charge_per_day="0.50"))


PEAK_7_TO_23 = [{"days": EVERY_DAY, "from": "07:00", "to": "23:00", "band": "peak"}]


def test_tiered_tariff_with_a_price_change_on_the_15th():
    # Tiers: first 100 kWh of the month, then the rest. Until the 15th: 0.20 / 0.30 and 0.50 a
    # day; from the 15th: 0.22 / 0.33 and 0.60 a day. 80 kWh used by the 15th, 60 kWh after.
    def tiered(tier1, tier2, standing):
        tiers = [{"up_to_kwh": "100", "rate": tier1}, {"rate": tier2}]
        energy = {"type": "tiered", "tiers": tiers}
        return tariff(energy, standing_charge_per_day=standing, tax_rate="0.19")

    schedule = TariffSchedule.of(
        [
            TariffVersion(
                effective_from=at("2026-01-15T00:00:00+01:00"),
                tariff=tiered("0.22", "0.33", "0.60"),
            ),
            TariffVersion(
                effective_from=at("2025-01-01T00:00:00+01:00"),
                tariff=tiered("0.20", "0.30", "0.50"),
            ),
        ]
    )
    rating = rated(
        schedule,
        "2026-01-01T00:00:00+01:00",
        "2026-02-01T00:00:00+01:00",
        ("r1", "2026-01-01T00:00:00+01:00", 0),
        ("r1", "2026-01-15T00:00:00+01:00", 80_000),
        ("r1", "2026-02-01T00:00:00+01:00", 140_000),
    )
    # Before: 80 kWh in tier 1 at 0.20. After: tier 1 has 20 kWh room left, at 0.22; the
    # other 40 kWh are tier 2 at 0.33.
    assert energy_by_band(rating.energy_lines) == {
        ("tier1", D("0.20")): 80_000,
        ("tier1", D("0.22")): 20_000,
        ("tier2", D("0.33")): 40_000,
    }
    # 14 days at 0.50 and 17 days at 0.60.
    assert [(line.daily_charge, line.days) for line in rating.standing_lines] == [
        (D("0.50"), 14),
        (D("0.60"), 17),
    ]
    lines, charges = amounts(rating)
    assert lines == ["16.00", "4.40", "13.20", "7.00", "10.20"]
    assert str(charges.net) == "50.80"
    assert str(charges.tax) == "9.65"  # 50.80 x 0.19 = 9.652
    assert str(charges.total) == "60.45"


def test_tou_interval_across_midnight_on_spring_dst_change():
    # Berlin, Sunday 2026-03-29: clocks jump 02:00 CET -> 03:00 CEST. 22:00 CET to 06:00 CEST
    # is 7 real hours (21:00Z to 04:00Z): one hour of peak (22-23) and six of offpeak.
    rating = rated(
        tou(PEAK_7_TO_23),
        "2026-03-28T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
        ("r1", "2026-03-28T22:00:00+01:00", 5_000),
        ("r1", "2026-03-29T06:00:00+02:00", 5_700),
    )
    assert energy_by_band(rating.energy_lines) == {
        ("peak", D("0.30")): 100,
        ("offpeak", D("0.10")): 600,
    }
    # Two whole local days, although the second has only 23 hours.
    assert [line.days for line in rating.standing_lines] == [2]


def test_tou_interval_across_midnight_on_autumn_dst_change():
    # Berlin, Sunday 2026-10-25: clocks go back 03:00 CEST -> 02:00 CET. 22:00 CEST to
    # 06:00 CET is 9 real hours (20:00Z to 05:00Z): one hour of peak and eight of offpeak.
    rating = rated(
        tou(PEAK_7_TO_23),
        "2026-10-24T00:00:00+02:00",
        "2026-10-25T11:30:00+01:00",
        ("r1", "2026-10-24T22:00:00+02:00", 0),
        ("r1", "2026-10-25T06:00:00+01:00", 900),
    )
    assert energy_by_band(rating.energy_lines) == {
        ("peak", D("0.30")): 100,
        ("offpeak", D("0.10")): 800,
    }
    # Saturday whole, then 00:00 CEST to 11:30 CET = 12.5 of the Sunday's 25 hours.
    assert [line.days for line in rating.standing_lines] == [Fraction(3, 2)]


def test_band_starting_inside_the_spring_gap_starts_when_the_clocks_jump():
    # A night band from 02:30 on Sundays: 02:30 never happens on 2026-03-29, so it starts at
    # 03:00 CEST (01:00Z). 01:00 CET to 05:00 CEST is 3 real hours, 100 Wh each.
    rating = rated(
        tou([{"days": ["sun"], "from": "02:30", "to": "05:00", "band": "night"}]),
        "2026-03-29T00:00:00+01:00",
        "2026-03-30T00:00:00+02:00",
        ("r1", "2026-03-29T01:00:00+01:00", 0),
        ("r1", "2026-03-29T05:00:00+02:00", 300),
    )
    assert energy_by_band(rating.energy_lines) == {
        ("offpeak", D("0.10")): 100,
        ("night", D("0.05")): 200,
    }


def test_holiday_treated_as_sunday():
    # Peak on weekdays only. Friday 2026-05-01 is Labour Day in Germany: Sunday bands, all
    # offpeak. Thursday 2026-04-30 is a normal weekday: 16 h peak, 8 h offpeak of 2,400 Wh.
    schedule = tou(
        [{"days": WEEKDAYS, "from": "07:00", "to": "23:00", "band": "peak"}],
        holidays={"country": "DE", "treat_as": "sun"},
    )
    readings = [
        ("r1", "2026-04-30T00:00:00+02:00", 0),
        ("r1", "2026-05-01T00:00:00+02:00", 2_400),
        ("r1", "2026-05-02T00:00:00+02:00", 4_800),
    ]
    thursday = rated(schedule, "2026-04-30T00:00:00+02:00", "2026-05-01T00:00:00+02:00", *readings)
    friday = rated(schedule, "2026-05-01T00:00:00+02:00", "2026-05-02T00:00:00+02:00", *readings)
    assert energy_by_band(thursday.energy_lines) == {
        ("offpeak", D("0.10")): 800,
        ("peak", D("0.30")): 1600,
    }
    assert energy_by_band(friday.energy_lines) == {("offpeak", D("0.10")): 2400}


def test_interval_crossing_the_period_edges_is_apportioned_by_time():
    # Readings 12 h before and 12 h after a one-day period: 3,600 Wh over 48 h, so the period
    # gets 24/48 = 1,800 Wh (x 0.25 = 0.45) and one day of standing charge (0.50).
    rating = rated(
        flat("0.25", standing_charge_per_day="0.50"),
        "2026-01-02T00:00:00+01:00",
        "2026-01-03T00:00:00+01:00",
        ("r1", "2026-01-01T12:00:00+01:00", 0),
        ("r1", "2026-01-03T12:00:00+01:00", 3_600),
    )
    assert rating.energy_wh == 1_800
    assert amounts(rating)[0] == ["0.45", "0.50"]


def test_energy_from_all_points_is_summed_in_time_order_for_tiers():
    # Two rooms, 60 kWh each, on a tier of 100 kWh: 100 kWh at tier 1, 20 kWh at tier 2.
    tiers = [{"up_to_kwh": "100", "rate": "0.2"}, {"rate": "0.3"}]
    rating = rated(
        TariffSchedule.single(tariff({"type": "tiered", "tiers": tiers})),
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        ("a", "2026-01-01T00:00:00Z", 0),
        ("a", "2026-01-31T00:00:00Z", 60_000),
        ("b", "2026-01-01T00:00:00Z", 0),
        ("b", "2026-01-31T00:00:00Z", 60_000),
    )
    assert energy_by_band(rating.energy_lines) == {
        ("tier1", D("0.2")): 100_000,
        ("tier2", D("0.3")): 20_000,
    }


def test_quota_with_overage():
    # 50 kWh included, then 0.40 a kWh; 80 kWh used: 50 kWh free, 30 kWh x 0.40 = 12.00.
    rating = rated(
        flat("0.25"),
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        ("r1", "2026-01-01T00:00:00Z", 0),
        ("r1", "2026-01-31T00:00:00Z", 80_000),
        quota=Quota(included_wh=50_000, overage_rate=D("0.40")),
    )
    assert energy_by_band(rating.energy_lines) == {
        ("included", D(0)): 50_000,
        ("overage", D("0.40")): 30_000,
    }
    assert amounts(rating)[0] == ["0.00", "12.00"]


def test_quota_with_hard_cap():
    # 50 kWh included and a hard cap: the 2 kWh used before the cut-off cost the tariff's 0.25.
    rating = rated(
        flat("0.25"),
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        ("r1", "2026-01-01T00:00:00Z", 0),
        ("r1", "2026-01-31T00:00:00Z", 52_000),
        quota=Quota(included_wh=50_000),
    )
    assert energy_by_band(rating.energy_lines) == {
        ("included", D(0)): 50_000,
        ("energy", D("0.25")): 2_000,
    }
    assert amounts(rating)[0] == ["0.00", "0.50"]


def test_jpy_has_no_minor_unit():
    # 12.345 kWh x 31 JPY = 382.695 -> 383; tax 10 % of 383 = 38.3 -> 38; total 421.
    energy = {"type": "flat", "rate": "31"}
    schedule = TariffSchedule.single(
        tariff(energy, currency="JPY", timezone="Asia/Tokyo", tax_rate="0.10")
    )
    rating = rated(
        schedule,
        "2026-01-01T00:00:00+09:00",
        "2026-01-02T00:00:00+09:00",
        ("r1", "2026-01-01T00:00:00+09:00", 0),
        ("r1", "2026-01-02T00:00:00+09:00", 12_345),
    )
    lines, charges = amounts(rating, "JPY")
    assert lines == ["383"]
    assert (str(charges.net), str(charges.tax), str(charges.total)) == ("383", "38", "421")


def test_kwd_has_three_decimals():
    # 123.457 kWh x 0.0125 KWD = 1.5432125 -> 1.543; standing 1 day x 0.1005 -> 0.101 (0.1005
    # rounds half up); net 1.644; tax 5 % = 0.0822 -> 0.082; total 1.726.
    energy = {"type": "flat", "rate": "0.0125"}
    schedule = TariffSchedule.single(
        tariff(
            energy,
            currency="KWD",
            timezone="Asia/Kuwait",
            standing_charge_per_day="0.1005",
            tax_rate="0.05",
        )
    )
    rating = rated(
        schedule,
        "2026-01-01T00:00:00+03:00",
        "2026-01-02T00:00:00+03:00",
        ("r1", "2026-01-01T00:00:00+03:00", 0),
        ("r1", "2026-01-02T00:00:00+03:00", 123_457),
    )
    lines, charges = amounts(rating, "KWD")
    assert lines == ["1.543", "0.101"]
    assert (str(charges.net), str(charges.tax), str(charges.total)) == ("1.644", "0.082", "1.726")
