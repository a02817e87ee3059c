"""Form fields parsed with messages a person can act on; money stays a decimal string to minor.

Each parser returns the value or raises ``FormError`` naming the field, so a handler collects
the messages and re-renders the form with what was typed.
"""

from datetime import datetime
from decimal import Decimal
import re
from zoneinfo import ZoneInfo

from tenant_ledger.api.fields import amount_minor
from tenant_ledger.billing.timestamps import to_us
from tenant_ledger.errors import LedgerError

MAX_TEXT = 500
_AMOUNT = re.compile(r"-?\d+(\.\d+)?")
_REGISTER = re.compile(r"\d+(\.\d{1,3})?")


class FormError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def amount(field: str, text: str, currency: str, *, positive: bool) -> int:
    """A decimal string such as ``10.00`` in ``currency``, as minor units."""
    cleaned = text.replace(" ", "")
    if not _AMOUNT.fullmatch(cleaned):
        raise FormError(field, f"Enter an amount like 10.00 (digits and a point), not {text!r}.")
    try:
        minor = amount_minor(field, cleaned, currency)
    except LedgerError as err:
        raise FormError(field, f"{err.message}.") from None
    if minor == 0:
        raise FormError(field, "The amount must not be zero.")
    if positive and minor < 0:
        raise FormError(field, "A top-up must be positive; use an adjustment to take money off.")
    return minor


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
    if naive.tzinfo is not None:
        return to_us(naive)
    return to_us(naive.replace(tzinfo=zone))


def register_wh(field: str, value: str) -> int:
    """A meter register in kWh with at most 3 decimals (as printed on the meter), as Wh."""
    if not _REGISTER.fullmatch(value):
        raise FormError(field, "Enter the meter register in kWh, e.g. 1234.567 (max 3 decimals).")
    return int(Decimal(value) * 1000)
