"""The tariff editor's fields and the tariff document they stand for, both ways.

The form has a row per tier, band and time window (empty rows are skipped); ``document`` turns
the fields into the JSON form the billing engine reads, so ``parse_tariff`` stays the one judge,
and ``field_of`` points its messages (``energy.tiers[1].rate``) back at the field typed in.
``fields_of`` fills the form from a stored version to start the next one from it.
"""

from collections.abc import Callable
from decimal import Decimal
import re
from typing import Any, assert_never

from tenant_ledger.billing import Tariff
from tenant_ledger.billing.tariffs import WEEKDAYS, FlatEnergy, TieredEnergy, TouEnergy

ENERGY_KINDS = ("flat", "tiered", "tou")
TIER_ROWS = 5
BAND_ROWS = 4
WINDOW_ROWS = 6
_MAX_BAND = 40
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,4})?", re.ASCII)
_PATHS = (
    (re.compile(r"energy\.rate"), "flat_rate"),
    (re.compile(r"energy\.tiers\[(\d+)\]\.(rate|up_to_kwh)"), "tier_{1}.{0}"),
    (re.compile(r"energy\.tiers"), "tier_rate.0"),
    (re.compile(r"energy\.bands(\..*)?", re.DOTALL), "band_rate.0"),
    (re.compile(r"energy\.default_band"), "default_band"),
    (re.compile(r"energy\.schedule\[(\d+)\]\.(days|from|to|band)"), "window_{1}.{0}"),
    (re.compile(r"energy\.holidays.*", re.DOTALL), "holiday_country"),
    (re.compile(r"standing_charge_per_day"), "standing_charge"),
    (re.compile(r"tax_rate"), "vat_percent"),
)


class FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def field_of(path: str) -> str:
    """The form field a tariff error path refers to ("" for the form as a whole)."""
    for pattern, field in _PATHS:
        if match := pattern.fullmatch(path):  # a band's name may hold any character
            return field.format(*match.groups())
    return ""


def _tax_rate(percent: str) -> str:
    if not percent:
        return "0"
    if not _PERCENT.fullmatch(percent) or Decimal(percent) >= 100:
        raise FieldError("vat_percent", "Enter the VAT in percent, e.g. 19 or 7.7 (below 100).")
    return str(Decimal(percent) / 100)


def document(
    field: Callable[[str], str], days: Callable[[str], list[str]], currency: str, zone: str
) -> dict[str, Any]:
    """The tariff document the form's fields describe (not yet judged: ``parse_tariff`` does)."""
    kind = field("energy")
    energy: dict[str, Any]
    if kind == "flat":
        energy = {"type": "flat", "rate": field("flat_rate")}
    elif kind == "tiered":
        rows = [(field(f"tier_up_to_kwh.{n}"), field(f"tier_rate.{n}")) for n in range(TIER_ROWS)]
        filled = [(up_to, rate) for up_to, rate in rows if up_to or rate]
        tiers: list[dict[str, str]] = [
            {"up_to_kwh": up_to, "rate": rate} for up_to, rate in filled[:-1]
        ]
        if filled:
            tiers.append({"rate": filled[-1][1]})
        energy = {"type": "tiered", "tiers": tiers}
    elif kind == "tou":
        bands = {}
        for n in range(BAND_ROWS):
            band, rate = field(f"band_name.{n}"), field(f"band_rate.{n}")
            if (band or rate) and not (band.isprintable() and 0 < len(band) <= _MAX_BAND):
                raise FieldError(
                    f"band_name.{n}",
                    f"Name the band in one line of at most {_MAX_BAND} characters.",
                )
            if band:
                bands[band] = rate
        windows = [
            {
                "days": days(f"window_days.{n}"),
                "from": field(f"window_from.{n}"),
                "to": field(f"window_to.{n}"),
                "band": field(f"window_band.{n}"),
            }
            for n in range(WINDOW_ROWS)
            if field(f"window_from.{n}") or field(f"window_to.{n}") or field(f"window_band.{n}")
        ]
        energy = {
            "type": "tou",
            "bands": bands,
            "schedule": windows,
            "default_band": field("default_band"),
        }
        if field("holiday_country"):
            energy["holidays"] = {
                "country": field("holiday_country"),
                "treat_as": field("holiday_treat_as") or "sun",
            } | ({"subdivision": sub} if (sub := field("holiday_subdivision")) else {})
    else:
        raise FieldError("energy", "Choose flat, tiered or time-of-use.")
    return {
        "currency": currency,
        "timezone": zone,
        "energy": energy,
        "standing_charge_per_day": field("standing_charge") or "0",
        "tax_rate": _tax_rate(field("vat_percent")),
    }


def _kwh(wh: int) -> str:
    return f"{Decimal(wh) / 1000:f}"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def fields_of(tariff: Tariff) -> dict[str, str]:
    """The form's fields for ``tariff`` (window days comma-separated)."""
    values = {
        "standing_charge": str(tariff.standing_charge_per_day),
        "vat_percent": f"{(tariff.tax_rate * 100).normalize():f}",
    }
    energy = tariff.energy
    match energy:
        case FlatEnergy():
            values |= {"energy": "flat", "flat_rate": str(energy.rate)}
        case TieredEnergy():
            values["energy"] = "tiered"
            for n, tier in enumerate(energy.tiers):
                values[f"tier_rate.{n}"] = str(tier.rate)
                if tier.up_to_wh is not None:
                    values[f"tier_up_to_kwh.{n}"] = _kwh(tier.up_to_wh)
        case TouEnergy():
            values |= {"energy": "tou", "default_band": energy.default_band}
            for n, (name, rate) in enumerate(energy.band_rates.items()):
                values |= {f"band_name.{n}": name, f"band_rate.{n}": str(rate)}
            for n, window in enumerate(energy.windows):
                values |= {
                    f"window_days.{n}": ",".join(WEEKDAYS[day] for day in sorted(window.weekdays)),
                    f"window_from.{n}": _clock(window.start_minute),
                    f"window_to.{n}": _clock(window.end_minute),
                    f"window_band.{n}": window.band,
                }
            if energy.holidays is not None:
                values |= {
                    "holiday_country": energy.holidays.country,
                    "holiday_subdivision": energy.holidays.subdivision or "",
                    "holiday_treat_as": WEEKDAYS[energy.holidays.treat_as],
                }
        case _:
            assert_never(energy)
    return values
