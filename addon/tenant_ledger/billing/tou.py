"""Time-of-use bands on the real timeline: local days, public holidays and DST.

Band boundaries are local wall-clock times in the tariff's zone; they become instants one local
day at a time, so a 23- or 25-hour DST day gets exactly the hours the clocks show.
"""

from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

from tenant_ledger.billing.tariffs import DayProfile, HolidayRule, TouEnergy, country_holidays
from tenant_ledger.billing.timestamps import local_days, wall_to_us


@lru_cache(maxsize=256)
def _holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(country_holidays(country, subdivision, year))


def _schedule_weekday(day: date, rule: HolidayRule | None) -> int:
    """The weekday whose bands apply on ``day``: its own, or ``treat_as`` on a public holiday."""
    if rule is not None and day in _holiday_dates(rule.country, rule.subdivision, day.year):
        return rule.treat_as
    return day.weekday()


def band_segments(
    energy: TouEnergy, zone: ZoneInfo, start_us: int, end_us: int
) -> tuple[tuple[int, int, str], ...]:
    """(start, end, band) covering [start_us, end_us) in order, equal neighbours merged."""
    return _band_segments(energy.profiles, energy.holidays, zone, start_us, end_us)


@lru_cache(maxsize=64)  # a few tariffs x periods in use; a month is ~100 segments
def _band_segments(
    profiles: tuple[DayProfile, ...],
    holiday_rule: HolidayRule | None,
    zone: ZoneInfo,
    start_us: int,
    end_us: int,
) -> tuple[tuple[int, int, str], ...]:
    # Cached: a statement run rates every tenant over the same month with the same tariff, and
    # turning each day's wall-clock boundaries into instants costs more than rating 1,000
    # readings. The arguments are all the answer depends on.
    segments: list[tuple[int, int, str]] = []
    for day, _, _ in local_days(zone, start_us, end_us):
        for first_minute, last_minute, band in profiles[_schedule_weekday(day, holiday_rule)]:
            begin = max(start_us, wall_to_us(day, first_minute, zone))
            finish = min(end_us, wall_to_us(day, last_minute, zone))
            if begin >= finish:
                continue
            if segments and segments[-1][2] == band:
                segments[-1] = (segments[-1][0], finish, band)
            else:
                segments.append((begin, finish, band))
    return tuple(segments)
