"""Tariff JSON: what parses, and errors that name the field at fault."""

from decimal import Decimal

import pytest

from tenant_ledger.billing import (
    FlatEnergy,
    TariffError,
    TieredEnergy,
    TouEnergy,
    decode_json,
    parse_tariff,
)

TOU = {
    "type": "tou",
    "bands": {"peak": "0.35", "offpeak": "0.15"},
    "schedule": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "07:00", "to": "23:00",
                  "band": "peak"}],
    "default_band": "offpeak",
    "holidays": {"country": "DE", "treat_as": "sun"},
}  # fmt: skip


def parse(energy, **fields):
    return parse_tariff(
        {"currency": "EUR", "timezone": "Europe/Berlin", "energy": energy, **fields}
    )


def test_json_numbers_become_exact_decimals():
    tariff = parse_tariff(
        decode_json(
            '{"currency": "EUR", "timezone": "Europe/Berlin", "tax_rate": 0.19,'
            ' "standing_charge_per_day": 1, "energy": {"type": "flat", "rate": 0.1}}'
        )
    )
    assert tariff.energy == FlatEnergy(rate=Decimal("0.1"))
    assert tariff.tax_rate == Decimal("0.19")
    assert tariff.standing_charge_per_day == Decimal(1)


def test_tiered_thresholds_in_whole_wh():
    energy = parse(
        {"type": "tiered", "tiers": [{"up_to_kwh": "100", "rate": "0.20"},
                                     {"up_to_kwh": "250.5", "rate": "0.25"}, {"rate": "0.30"}]}
    ).energy  # fmt: skip
    assert isinstance(energy, TieredEnergy)
    assert [(tier.up_to_wh, tier.rate) for tier in energy.tiers] == [
        (100_000, Decimal("0.20")),
        (250_500, Decimal("0.25")),
        (None, Decimal("0.30")),
    ]


def test_tou_day_profiles_fill_gaps_with_the_default_band():
    energy = parse(TOU).energy
    assert isinstance(energy, TouEnergy)
    assert energy.profiles[0] == ((0, 420, "offpeak"), (420, 1380, "peak"), (1380, 1440, "offpeak"))
    assert energy.profiles[6] == ((0, 1440, "offpeak"),)
    assert energy.holidays is not None
    assert energy.holidays.treat_as == 6


BASE = {"currency": "EUR", "timezone": "UTC", "energy": {"type": "flat", "rate": "1"}}


def doc(**changes):
    return {**BASE, **changes}


def flat_rate(rate):
    return doc(energy={"type": "flat", "rate": rate})


def tiers(*tiers):
    return doc(energy={"type": "tiered", "tiers": list(tiers)})


def tou(**changes):
    return doc(energy={**TOU, **changes})


def windows(*windows):
    return tou(schedule=[{"from": "07:00", "to": "12:00", "band": "peak", **w} for w in windows])


@pytest.mark.parametrize(
    ("document", "path", "message"),
    [
        ({"timezone": "UTC", "energy": BASE["energy"]}, "currency", "missing"),
        (doc(currency="EURO"), "currency", "unknown ISO 4217 currency: 'EURO'"),
        (doc(timezone="Mars/Olympus"), "timezone", "unknown IANA time zone: 'Mars/Olympus'"),
        (doc(vat="0.2"), "vat", "unknown field"),
        (flat_rate(0.25), "energy.rate", 'binary floating point is not accepted, write "0.25"'),
        (flat_rate("abc"), "energy.rate", "not a decimal number: 'abc'"),
        (flat_rate("-1"), "energy.rate", "must not be negative: '-1'"),
        (flat_rate("NaN"), "energy.rate", "not a decimal number: 'NaN'"),
        (doc(energy={"type": "block"}), "energy.type",
         "expected 'flat', 'tiered' or 'tou', got 'block'"),
        (tiers({"up_to_kwh": "100", "rate": "1"}, {"up_to_kwh": "50", "rate": "1"}, {"rate": "1"}),
         "energy.tiers[1].up_to_kwh", "tiers must go up in strictly increasing order"),
        (tiers({"up_to_kwh": "0.0005", "rate": "1"}, {"rate": "1"}), "energy.tiers[0].up_to_kwh",
         "must be a whole number of Wh (at most 3 decimals of kWh)"),
        (windows({"days": ["mon"], "from": "23:00", "to": "07:00"}), "energy.schedule[0].to",
         "must be after 'from'; split overnight windows at 24:00"),
        (windows({"days": ["mon"], "to": "24:01"}), "energy.schedule[0].to",
         "expected a local time HH:MM from 00:00 to 24:00, got '24:01'"),
        (windows({"days": ["mon"]}, {"days": ["mon", "tue"], "from": "11:00", "to": "13:00"}),
         "energy.schedule", "windows overlap on mon at 11:00"),
        (windows({"days": ["monday"]}), "energy.schedule[0].days",
         "expected a non-empty list of mon, tue, wed, thu, fri, sat, sun"),
        (tou(default_band="night"), "energy.default_band",
         "unknown band 'night' (not in energy.bands)"),
        (tou(holidays={"country": "XX", "treat_as": "sun"}), "energy.holidays",
         "no public holiday calendar: Country XX not available"),
        (tou(holidays={"country": "DE", "treat_as": "sunday"}), "energy.holidays.treat_as",
         "expected one of mon, tue, wed, thu, fri, sat, sun"),
        ([], "", "expected an object, got a list"),
    ],
)  # fmt: skip
def test_errors_name_the_field(document, path, message):
    with pytest.raises(TariffError) as caught:
        parse_tariff(document)
    assert (caught.value.path, caught.value.message) == (path, message)
