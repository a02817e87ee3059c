"""A tariff as rows a person reads: one per band, with the id statement lines link to."""

from dataclasses import dataclass

from tenant_ledger.billing import FlatEnergy, Quota, Tariff, TieredEnergy, format_kwh
from tenant_ledger.billing.tariffs import WEEKDAYS

_FLAT_BAND = "energy"
_STANDING_BAND = "standing"


@dataclass(frozen=True, kw_only=True, slots=True)
class BandRow:
    band: str
    applies: str
    price: str


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def band_rows(tariff: Tariff, quota: Quota | None) -> list[BandRow]:
    """The bands statements name (``energy``, ``tier1``…, TOU band names, ``standing``)."""
    energy = tariff.energy
    rows: list[BandRow] = []
    if isinstance(energy, FlatEnergy):
        rows.append(BandRow(band=_FLAT_BAND, applies="every kWh", price=f"{energy.rate} / kWh"))
    elif isinstance(energy, TieredEnergy):
        lower = 0
        for index, tier in enumerate(energy.tiers, start=1):
            upper = "" if tier.up_to_wh is None else f" to {format_kwh(tier.up_to_wh)}"
            rows.append(
                BandRow(
                    band=f"tier{index}",
                    applies=f"kWh of the period from {format_kwh(lower)}{upper}",
                    price=f"{tier.rate} / kWh",
                )
            )
            lower = tier.up_to_wh or lower
    else:
        for band, rate in energy.band_rates.items():
            windows = [
                f"{','.join(WEEKDAYS[d] for d in sorted(w.weekdays))} "
                f"{_hhmm(w.start_minute)}-{_hhmm(w.end_minute)}"
                for w in energy.windows
                if w.band == band
            ]
            if band == energy.default_band:
                windows.append("all other times")
            rows.append(BandRow(band=band, applies="; ".join(windows), price=f"{rate} / kWh"))
    if quota is not None:
        included = f"first {format_kwh(quota.included_wh)} kWh of the period"
        rows.insert(0, BandRow(band="included", applies=included, price="included in the plan"))
        if quota.overage_rate is not None:
            rows.insert(
                1,
                BandRow(
                    band="overage",
                    applies="kWh beyond the allowance",
                    price=f"{quota.overage_rate} / kWh",
                ),
            )
    rows.append(
        BandRow(
            band=_STANDING_BAND,
            applies="each day a space is held",
            price=f"{tariff.standing_charge_per_day} / day",
        )
    )
    return rows
