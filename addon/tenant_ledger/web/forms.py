"""Form fields parsed with messages a person can act on; money stays a decimal string to minor.

Each parser returns the value or raises ``FormError`` naming the field, so a handler collects
the messages and re-renders the form with what was typed.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime, time
from decimal import Decimal
import re
import secrets
from typing import Final
from zoneinfo import ZoneInfo

from tenant_ledger.billing.money import AmountError, AmountSign, parse_amount
from tenant_ledger.billing.quota import Quota
from tenant_ledger.billing.timestamps import FIRST_DAY, LAST_DAY, supported_day, to_us
from tenant_ledger.readings_in import MAX_POINT_ID, POINT_ID_PATTERN

MAX_TEXT = 500
MAX_NAME = 200
_ID_WORD = re.compile(r"[^a-z0-9]+")
_AREA = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?", re.ASCII)
_KWH = re.compile(r"[0-9]{1,12}(\.[0-9]{1,3})?", re.ASCII)
_RATE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,12})?", re.ASCII)
_WHOLE = re.compile(r"[0-9]{1,4}", re.ASCII)
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)
_WALL_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]", re.ASCII)
_REGISTER = re.compile(r"[0-9]+(\.[0-9]{1,3})?", re.ASCII)
_POINT_ID = re.compile(POINT_ID_PATTERN, re.ASCII)


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """A refused form as its page shows it again: the message on its field, what was typed.

    Keys are ``form.field`` (``form.`` for the form as a whole), as the templates' macros read
    them; a page without a refused form renders ``NO_REFUSAL``."""

    errors: Mapping[str, str] = dataclass_field(default_factory=dict)
    values: Mapping[str, str] = dataclass_field(default_factory=dict)

    @classmethod
    def of(cls, form: str, err: "FormError", typed: Mapping[str, str]) -> "Refusal":
        return cls(
            errors={f"{form}.{err.field}": err.message},
            values={f"{form}.{name}": value for name, value in typed.items()},
        )


NO_REFUSAL: Final = Refusal()


def amount(
    field: str, text: str, currency: str, *, positive: bool, sign: AmountSign | None = None
) -> int:
    """An amount such as ``10.00`` (or ``10,00``: the decimal comma of many locales) in
    ``currency``, as minor units, in the money module's one grammar.

    ``sign`` overrides what ``positive`` says (a limit may be zero, a threshold negative)."""
    # A single comma is the decimal separator where people write it so; with a point as well
    # (1.000,50) it would be a guess, which the grammar then refuses.
    decimal_text = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
    if sign is None:
        sign = AmountSign.POSITIVE if positive else AmountSign.NONZERO
    try:
        return parse_amount(decimal_text, currency, sign)
    except AmountError as err:
        if err.message == "must not be zero":
            message = "The amount must not be zero."
        elif err.message == "must be positive":
            message = "A top-up must be positive; use an adjustment to take money off."
        elif err.message.startswith("has more decimals"):
            message = f"The amount {err.message}."
        else:
            message = f"Enter an amount like 10.00 (digits and a point), not {text[:40]!r}."
        raise FormError(field, message) from None


def new_form_key() -> str:
    """A one-time key for a money form (its hidden ``form_key``): posted as the entry's ref, so
    a double submit, a reload or a back-and-resubmit of the same form posts once."""
    return secrets.token_urlsafe(16)


def form_key(value: str) -> str:
    if not _FORM_KEY.fullmatch(value):
        raise FormError(
            "", "This form has no valid one-time key (the page is outdated). Reload the page."
        )
    return value


def text(field: str, value: str, *, required: bool = True) -> str:
    if required and not value:
        raise FormError(field, "This is required (it is kept in the audit log).")
    if len(value) > MAX_TEXT:
        raise FormError(field, f"At most {MAX_TEXT} characters.")
    return value


def local_time(field: str, value: str, zone: ZoneInfo) -> int:
    """``YYYY-MM-DDTHH:MM`` (a datetime-local input) in the building's zone, as epoch µs."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise FormError(field, "Enter a date and time like 2026-11-30T18:00.") from None
    if not supported_day(naive.date()):
        raise FormError(
            field, f"Enter a date from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}."
        )
    if naive.tzinfo is not None:
        return to_us(naive)
    return to_us(naive.replace(tzinfo=zone))


def register_wh(field: str, value: str, billing_unit: str = "kWh") -> int:
    """A meter register in its billing unit (kWh, m³) with at most 3 decimals (as printed on
    the meter), as whole base units (Wh, L): every billing unit is 1000 of them."""
    if not _REGISTER.fullmatch(value):
        raise FormError(
            field, f"Enter the meter register in {billing_unit}, e.g. 1234.567 (max 3 decimals)."
        )
    return int(Decimal(value) * 1000)


def point_id(field: str, value: str, taken: Collection[str]) -> str:
    """A new metering point's id as the readings contract names it (``mqtt:a4cf12ab34cd:1``)."""
    if not _POINT_ID.fullmatch(value):
        raise FormError(
            field,
            f"Enter the meter id: up to {MAX_POINT_ID} letters, digits, _ . : or -, "
            "starting with a letter or digit.",
        )
    if value in taken:
        raise FormError(field, "A meter with this id exists already.")
    return value


def name(field: str, value: str) -> str:
    """A name people read (tenant, room, plan, tariff): required, one line, printable."""
    if not value:
        raise FormError(field, "Enter a name.")
    if len(value) > MAX_NAME:
        raise FormError(field, f"At most {MAX_NAME} characters.")
    if not value.isprintable():
        raise FormError(field, "Use one line of printable characters (no tabs or line breaks).")
    return value


def new_id(name_text: str, taken: Collection[str], fallback: str) -> str:
    """An id for a new record derived from its name (``Room 1`` -> ``room-1``), unique among
    ``taken``; ``fallback`` when the name has no ASCII letters or digits. Ids stay secondary:
    the console shows names."""
    base = _ID_WORD.sub("-", name_text.lower()).strip("-")[:40].strip("-") or fallback
    candidate, counter = base, 1
    while candidate in taken:
        counter += 1
        candidate = f"{base}-{counter}"
    return candidate


def choice(field: str, value: str, options: Collection[str], what: str) -> str:
    if value not in options:
        raise FormError(field, f"Choose a {what} from the list.")
    return value


def wall_time(field: str, value: str) -> time:
    """``HH:MM`` (a time input), a local wall time."""
    if not _WALL_TIME.fullmatch(value):
        raise FormError(field, "Enter a time like 23:00.")
    return time.fromisoformat(value)


def area_m2(field: str, value: str) -> Decimal | None:
    """A floor area in m² (optional), at most 2 decimals."""
    if not value:
        return None
    if not _AREA.fullmatch(value.replace(",", ".", 1)):
        raise FormError(field, "Enter the area in m², e.g. 14.5 (at most 2 decimals).")
    return Decimal(value.replace(",", ".", 1))


def whole(field: str, value: str, lowest: int, highest: int) -> int:
    if not _WHOLE.fullmatch(value) or not lowest <= int(value) <= highest:
        raise FormError(field, f"Enter a whole number from {lowest} to {highest}.")
    return int(value)


def quota(field: str, amount: str, rate_field: str, rate: str, unit: str = "kWh") -> Quota | None:
    """A plan's included usage in the billing ``unit`` (kWh, m³; optional) and the price per
    unit above it (optional: none is a hard cap), in whole base units (Wh, L)."""
    if not amount:
        if rate:
            raise FormError(rate_field, f"An overage price needs the included {unit}.")
        return None
    if not _KWH.fullmatch(amount):
        raise FormError(field, f"Enter the included usage in {unit}, e.g. 150 (max 3 decimals).")
    if rate and not _RATE.fullmatch(rate):
        raise FormError(rate_field, f"Enter a price per {unit}, e.g. 0.35.")
    return Quota(
        included_wh=int(Decimal(amount) * 1000), overage_rate=Decimal(rate) if rate else None
    )
