"""Form fields parsed with messages a person can act on; money stays a decimal string to minor.

Each parser returns the value or raises ``FormError`` naming the field, so a handler collects
the messages and re-renders the form with what was typed.
"""

from datetime import datetime
from decimal import Decimal
import re
import secrets
from zoneinfo import ZoneInfo

from tenant_ledger.billing.money import AmountError, AmountSign, parse_amount
from tenant_ledger.billing.timestamps import FIRST_DAY, LAST_DAY, supported_day, to_us

MAX_TEXT = 500
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)
_REGISTER = re.compile(r"[0-9]+(\.[0-9]{1,3})?", re.ASCII)


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def amount(field: str, text: str, currency: str, *, positive: bool) -> int:
    """An amount such as ``10.00`` (or ``10,00``: the decimal comma of many locales) in
    ``currency``, as minor units, in the money module's one grammar."""
    # A single comma is the decimal separator where people write it so; with a point as well
    # (1.000,50) it would be a guess, which the grammar then refuses.
    decimal_text = text.replace(",", ".") if text.count(",") == 1 and "." not in text else text
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


def register_wh(field: str, value: str) -> int:
    """A meter register in kWh with at most 3 decimals (as printed on the meter), as Wh."""
    if not _REGISTER.fullmatch(value):
        raise FormError(field, "Enter the meter register in kWh, e.g. 1234.567 (max 3 decimals).")
    return int(Decimal(value) * 1000)
