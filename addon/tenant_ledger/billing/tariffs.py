"""Tariffs: what a kWh and a day cost, and the JSON form landlords write them in.

A tariff prices energy (flat, tiered on the period's cumulative kWh, or time-of-use bands),
adds a standing charge per local day and a tax rate on the net. Tariffs change over time, so
rating uses a ``TariffSchedule``: versions each in force from their ``effective_from``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
import json
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tenant_ledger.billing.money import CURRENCY_EXPONENTS
from tenant_ledger.billing.timestamps import require_aware, to_us

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
_CLOCK = re.compile(r"(\d\d):(\d\d)")


class TariffError(ValueError):
    """A tariff that cannot be used, naming the field (``energy.tiers[1].rate``) at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True, kw_only=True)
class FlatEnergy:
    """One price per kWh, reported as band ``energy``."""

    rate: Decimal


@dataclass(frozen=True, kw_only=True)
class Tier:
    """Price of the kWh up to ``up_to_wh`` of the period's cumulative energy (None: the rest)."""

    up_to_wh: int | None
    rate: Decimal


@dataclass(frozen=True, kw_only=True)
class TieredEnergy:
    """Block prices on the period's cumulative energy, reported as bands ``tier1``, ``tier2``..."""

    tiers: tuple[Tier, ...]


@dataclass(frozen=True, kw_only=True)
class TouWindow:
    """``band`` applies on ``weekdays`` (0 = Monday) from ``start_minute`` to ``end_minute``."""

    weekdays: frozenset[int]
    start_minute: int
    end_minute: int
    band: str


@dataclass(frozen=True, kw_only=True)
class HolidayRule:
    """Public holidays of ``country`` (and ``subdivision``) follow weekday ``treat_as``'s bands."""

    country: str
    subdivision: str | None
    treat_as: int


type DayProfile = tuple[tuple[int, int, str], ...]
"""(start_minute, end_minute, band) covering a whole day, neighbours in different bands."""


@dataclass(frozen=True, kw_only=True)
class TouEnergy:
    """Time-of-use: each local minute belongs to one band; unlisted times are ``default_band``."""

    band_rates: Mapping[str, Decimal]
    windows: tuple[TouWindow, ...]
    default_band: str
    holidays: HolidayRule | None = None
    profiles: tuple[DayProfile, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "profiles", tuple(self._profile(weekday) for weekday in range(7)))

    def _profile(self, weekday: int) -> DayProfile:
        windows = sorted(
            (window.start_minute, window.end_minute, window.band)
            for window in self.windows
            if weekday in window.weekdays
        )
        profile: list[tuple[int, int, str]] = []
        cursor = 0
        for start, end, band in [*windows, (MINUTES_PER_DAY, MINUTES_PER_DAY, "")]:
            if start < cursor:
                raise TariffError(
                    "energy.schedule", f"windows overlap on {WEEKDAYS[weekday]} at {_hhmm(start)}"
                )
            for piece in ((cursor, start, self.default_band), (start, end, band)):
                if piece[0] == piece[1]:
                    continue
                if profile and profile[-1][2] == piece[2]:
                    profile[-1] = (profile[-1][0], piece[1], piece[2])
                else:
                    profile.append(piece)
            cursor = end
        return tuple(profile)


type EnergyPrice = FlatEnergy | TieredEnergy | TouEnergy


@dataclass(frozen=True, kw_only=True)
class Tariff:
    currency: str
    timezone: ZoneInfo
    energy: EnergyPrice
    standing_charge_per_day: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)


@dataclass(frozen=True, kw_only=True)
class TariffVersion:
    effective_from: datetime
    tariff: Tariff


_BEGINNING = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class TariffSchedule:
    """Tariff versions in force one after the other; all in the same currency."""

    versions: tuple[TariffVersion, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("a tariff schedule needs at least one version")
        starts = [to_us(require_aware(v.effective_from, "effective_from")) for v in self.versions]
        if any(later <= earlier for earlier, later in pairwise(starts)):
            raise ValueError("tariff versions must be in strictly increasing effective_from order")
        if len({version.tariff.currency for version in self.versions}) > 1:
            raise ValueError("all versions of a tariff schedule must use one currency")

    @classmethod
    def single(cls, tariff: Tariff) -> TariffSchedule:
        """A schedule of one tariff in force for all time (the offline CLI's case)."""
        return cls(versions=(TariffVersion(effective_from=_BEGINNING, tariff=tariff),))

    @classmethod
    def of(cls, versions: Iterable[TariffVersion]) -> TariffSchedule:
        """A schedule from versions in any order."""
        return cls(versions=tuple(sorted(versions, key=lambda v: to_us(v.effective_from))))

    @property
    def currency(self) -> str:
        return self.versions[0].tariff.currency

    def in_force_from_us(self, start_us: int) -> int:
        """``start_us``, or the first version's start if later: before it nothing is charged."""
        return max(start_us, to_us(self.versions[0].effective_from))

    def ranges(self, start_us: int, end_us: int) -> list[tuple[int, int, Tariff]]:
        """(start, end, tariff) for each version in force during [start_us, end_us)."""
        bounds = [to_us(version.effective_from) for version in self.versions]
        if start_us < bounds[0]:
            raise ValueError(f"no tariff in force before {self.versions[0].effective_from}")
        bounds.append(max(end_us, bounds[-1]) + 1)
        return [
            (max(start_us, begin), min(end_us, finish), version.tariff)
            for version, begin, finish in zip(self.versions, bounds, bounds[1:], strict=False)
            if begin < end_us and finish > start_us
        ]


def decode_json(text: str | bytes) -> object:
    """Decode tariff JSON with numbers as Decimal, so no binary float ever exists."""
    return json.loads(text, parse_float=Decimal)


def parse_tariff(data: object) -> Tariff:
    """A Tariff from its JSON form (decoded by ``decode_json``), or TariffError.

    ``{"currency": "EUR", "timezone": "Europe/Berlin", "energy": {...},
    "standing_charge_per_day": "0.50", "tax_rate": "0.19"}``; see BILLING.md for ``energy``.
    Numbers may be strings, ints or Decimals, never binary floats.
    """
    root = _fields(
        data,
        "",
        required={"currency", "timezone", "energy"},
        optional={"standing_charge_per_day", "tax_rate"},
    )
    currency = _string(root["currency"], "currency")
    if currency not in CURRENCY_EXPONENTS:
        raise TariffError("currency", f"unknown ISO 4217 currency: {currency!r}")
    return Tariff(
        currency=currency,
        timezone=_zone(root["timezone"]),
        energy=_energy(root["energy"]),
        standing_charge_per_day=_decimal(
            root.get("standing_charge_per_day", 0), "standing_charge_per_day"
        ),
        tax_rate=_decimal(root.get("tax_rate", 0), "tax_rate"),
    )


def _energy(data: object) -> EnergyPrice:
    kind = _fields(data, "energy", required={"type"}, optional=None)["type"]
    if kind == "flat":
        flat = _fields(data, "energy", required={"type", "rate"})
        return FlatEnergy(rate=_decimal(flat["rate"], "energy.rate"))
    if kind == "tiered":
        return _tiered(_fields(data, "energy", required={"type", "tiers"}))
    if kind == "tou":
        return _tou(
            _fields(
                data,
                "energy",
                required={"type", "bands", "schedule", "default_band"},
                optional={"holidays"},
            )
        )
    raise TariffError("energy.type", f"expected 'flat', 'tiered' or 'tou', got {kind!r}")


def _tiered(data: Mapping[str, object]) -> TieredEnergy:
    items = _list(data["tiers"], "energy.tiers")
    tiers: list[Tier] = []
    for index, item in enumerate(items):
        path = f"energy.tiers[{index}]"
        last = index == len(items) - 1
        fields = _fields(item, path, required={"rate"} if last else {"rate", "up_to_kwh"})
        up_to_wh = None if last else _whole_wh(fields["up_to_kwh"], f"{path}.up_to_kwh")
        previous = tiers[-1].up_to_wh if tiers else 0
        if up_to_wh is not None and previous is not None and up_to_wh <= previous:
            raise TariffError(f"{path}.up_to_kwh", "tiers must go up in strictly increasing order")
        tiers.append(Tier(up_to_wh=up_to_wh, rate=_decimal(fields["rate"], f"{path}.rate")))
    if not tiers:
        raise TariffError("energy.tiers", "at least one tier is needed")
    return TieredEnergy(tiers=tuple(tiers))


def _tou(data: Mapping[str, object]) -> TouEnergy:
    bands = _fields(data["bands"], "energy.bands", required=set(), optional=None)
    if not bands:
        raise TariffError("energy.bands", "at least one band is needed")
    band_rates = {name: _decimal(rate, f"energy.bands.{name}") for name, rate in bands.items()}
    default_band = _band(data["default_band"], "energy.default_band", band_rates)
    windows = []
    for index, item in enumerate(_list(data["schedule"], "energy.schedule")):
        path = f"energy.schedule[{index}]"
        fields = _fields(item, path, required={"days", "from", "to", "band"})
        days = _list(fields["days"], f"{path}.days")
        if not days or any(day not in WEEKDAYS for day in days):
            raise TariffError(f"{path}.days", f"expected a non-empty list of {', '.join(WEEKDAYS)}")
        start = _minute(fields["from"], f"{path}.from", allow_midnight_end=False)
        end = _minute(fields["to"], f"{path}.to", allow_midnight_end=True)
        if end <= start:
            raise TariffError(
                f"{path}.to", "must be after 'from'; split overnight windows at 24:00"
            )
        windows.append(
            TouWindow(
                weekdays=frozenset(WEEKDAYS.index(day) for day in days),
                start_minute=start,
                end_minute=end,
                band=_band(fields["band"], f"{path}.band", band_rates),
            )
        )
    holiday_rule = None if "holidays" not in data else _holidays(data["holidays"])
    return TouEnergy(
        band_rates=band_rates,
        windows=tuple(windows),
        default_band=default_band,
        holidays=holiday_rule,
    )


def country_holidays(country: str, subdivision: str | None, year: int | None) -> Iterable[date]:
    """The public holidays of a country (all years when None); NotImplementedError if unknown.

    The calendars (``holidays``, 3.5 MiB) are loaded by the first tariff that names one.
    """
    import holidays  # noqa: PLC0415

    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def _holidays(data: object) -> HolidayRule:
    path = "energy.holidays"
    fields = _fields(data, path, required={"country", "treat_as"}, optional={"subdivision"})
    country = _string(fields["country"], f"{path}.country")
    subdivision = None
    if "subdivision" in fields:
        subdivision = _string(fields["subdivision"], f"{path}.subdivision")
    try:
        country_holidays(country, subdivision, None)
    except NotImplementedError as err:
        raise TariffError(path, f"no public holiday calendar: {err}") from None
    treat_as = _string(fields["treat_as"], f"{path}.treat_as")
    if treat_as not in WEEKDAYS:
        raise TariffError(f"{path}.treat_as", f"expected one of {', '.join(WEEKDAYS)}")
    return HolidayRule(country=country, subdivision=subdivision, treat_as=WEEKDAYS.index(treat_as))


def _fields(
    data: object,
    path: str,
    *,
    required: AbstractSet[str],
    optional: AbstractSet[str] | None = frozenset(),
) -> Mapping[str, object]:
    """``data`` as an object with ``required`` keys and, unless ``optional`` is None, no others."""
    if not isinstance(data, Mapping):
        raise TariffError(path, f"expected an object, got {_kind(data)}")
    missing = sorted(required - data.keys())
    if missing:
        raise TariffError(_join(path, missing[0]), "missing")
    if optional is not None:
        unknown = sorted(data.keys() - required - optional)
        if unknown:
            raise TariffError(_join(path, str(unknown[0])), "unknown field")
    return data


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _list(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        raise TariffError(path, f"expected a list, got {_kind(value)}")
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise TariffError(path, f"expected a non-empty string, got {_kind(value)}")
    return value


MAX_TARIFF_EXPONENT = 12
"""Tariff numbers (rates, blocks, charges) lie between 1e-12 and 1e12."""


def _decimal(value: object, path: str) -> Decimal:
    """A non-negative finite decimal from a string, int or Decimal (never a binary float)."""
    if isinstance(value, float):
        raise TariffError(path, f'binary floating point is not accepted, write "{value}"')
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        raise TariffError(path, f"not a decimal number: {value!r}")
    if number < 0:
        raise TariffError(path, f"must not be negative: {value!r}")
    if number and not -MAX_TARIFF_EXPONENT <= number.adjusted() < MAX_TARIFF_EXPONENT:
        # 1e999999 is exact, but every bill priced with it would be a million digits long.
        raise TariffError(
            path,
            f"is out of range (1e-{MAX_TARIFF_EXPONENT} to 1e{MAX_TARIFF_EXPONENT}): {value!r}",
        )
    return number


def _whole_wh(value: object, path: str) -> int:
    wh = _decimal(value, path) * 1000
    if wh != wh.to_integral_value():
        raise TariffError(path, "must be a whole number of Wh (at most 3 decimals of kWh)")
    return int(wh)


def _minute(value: object, path: str, *, allow_midnight_end: bool) -> int:
    match = _CLOCK.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        minute = int(match[1]) * 60 + int(match[2])
        if int(match[2]) < 60 and (
            minute < MINUTES_PER_DAY or (allow_midnight_end and minute == MINUTES_PER_DAY)
        ):
            return minute
    latest = "24:00" if allow_midnight_end else "23:59"
    raise TariffError(path, f"expected a local time HH:MM from 00:00 to {latest}, got {value!r}")


def _band(value: object, path: str, band_rates: Mapping[str, Decimal]) -> str:
    band = _string(value, path)
    if band not in band_rates:
        raise TariffError(path, f"unknown band {band!r} (not in energy.bands)")
    return band


def _zone(value: object) -> ZoneInfo:
    name = _string(value, "timezone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TariffError("timezone", f"unknown IANA time zone: {name!r}") from None


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
