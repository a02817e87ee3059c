"""A tariff as rows a person reads: one per band, with the id statement lines link to."""

from dataclasses import dataclass
from typing import assert_never

from tenant_ledger.billing import FlatEnergy, Quota, Tariff, TieredEnergy, format_kwh
from tenant_ledger.billing.quota import INCLUDED_BAND, OVERAGE_BAND
from tenant_ledger.billing.rating import FLAT_BAND, STANDING_LABEL, tier_band
from tenant_ledger.billing.tariffs import WEEKDAYS, EnergyPrice, TouEnergy


@dataclass(frozen=True, kw_only=True, slots=True)
class BandRow:
    band: str
    applies: str
    price: str


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def band_rows(tariff: Tariff, quota: Quota | None, unit: str = "kWh") -> list[BandRow]:
    """The bands statements name (``energy``, ``tier1``…, TOU band names, ``standing``),
    priced per ``unit``: the billing unit of the resource the tariff prices (kWh, m³)."""
    rows = _energy_rows(tariff.energy, unit)
    if quota is not None:
        included = f"first {format_kwh(quota.included_wh)} {unit} of the period"
        rows.insert(0, BandRow(band=INCLUDED_BAND, applies=included, price="included in the plan"))
        if quota.overage_rate is not None:
            rows.insert(
                1,
                BandRow(
                    band=OVERAGE_BAND,
                    applies=f"{unit} beyond the allowance",
                    price=f"{quota.overage_rate} / {unit}",
                ),
            )
    rows.append(
        BandRow(
            band=STANDING_LABEL,
            applies="each day a space is held",
            price=f"{tariff.standing_charge_per_day} / day",
        )
    )
    return rows


def _energy_rows(energy: EnergyPrice, unit: str) -> list[BandRow]:
    match energy:
        case FlatEnergy():
            return [
                BandRow(band=FLAT_BAND, applies=f"every {unit}", price=f"{energy.rate} / {unit}")
            ]
        case TieredEnergy():
            rows, lower = [], 0
            for index, tier in enumerate(energy.tiers, start=1):
                upper = "" if tier.up_to_wh is None else f" to {format_kwh(tier.up_to_wh)}"
                rows.append(
                    BandRow(
                        band=tier_band(index),
                        applies=f"{unit} of the period from {format_kwh(lower)}{upper}",
                        price=f"{tier.rate} / {unit}",
                    )
                )
                lower = tier.up_to_wh or lower
            return rows
        case TouEnergy():
            rows = []
            for band, rate in energy.band_rates.items():
                windows = [
                    f"{','.join(WEEKDAYS[d] for d in sorted(w.weekdays))} "
                    f"{_hhmm(w.start_minute)}-{_hhmm(w.end_minute)}"
                    for w in energy.windows
                    if w.band == band
                ]
                if band == energy.default_band:
                    windows.append("all other times")
                rows.append(
                    BandRow(band=band, applies="; ".join(windows), price=f"{rate} / {unit}")
                )
            return rows
        case _:
            assert_never(energy)
