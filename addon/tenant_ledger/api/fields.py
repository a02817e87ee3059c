"""Request bodies: each route lists its fields once; parsing and the OpenAPI schema follow.

Money travels as decimal strings ("10.00"): a JSON number for an amount is refused, because a
binary float cannot hold 0.1 and the API must not guess what was meant.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
import re
from typing import Any

from tenant_ledger.billing import currency_exponent, decode_json
from tenant_ledger.billing.timestamps import to_us
from tenant_ledger.errors import LedgerError, invalid

# Bounds that keep every accepted value storable in every supported database.
MAX_INTEGER = 100_000
MAX_AMOUNT_MINOR = 10**15
MAX_DECIMAL_TEXT = 30
# Ids go into MQTT topics and URLs: no '+', '#', '/' or spaces.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
POINT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")


class Kind(StrEnum):
    STRING = "string"
    AMOUNT = "amount"
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    TIME = "time"
    OBJECT = "object"
    STRINGS = "strings"


@dataclass(frozen=True, kw_only=True)
class Field:
    name: str
    kind: Kind
    required: bool = True
    description: str = ""
    choices: tuple[str, ...] = ()
    nullable: bool = False
    max_length: int = 200
    minimum: int = 0
    maximum: int = MAX_INTEGER
    """Bounds of an INTEGER field."""
    pattern: re.Pattern[str] | None = None
    """What a STRING field must match in full (ids)."""


_SCHEMAS: dict[Kind, dict[str, Any]] = {
    Kind.STRING: {"type": "string", "minLength": 1},
    Kind.AMOUNT: {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "example": "10.00"},
    Kind.DECIMAL: {"type": "string", "pattern": r"^\d+(\.\d+)?$"},
    Kind.INTEGER: {"type": "integer", "minimum": 0, "maximum": MAX_INTEGER},
    Kind.BOOLEAN: {"type": "boolean"},
    Kind.TIME: {"type": "string", "format": "date-time"},
    Kind.OBJECT: {"type": "object"},
    Kind.STRINGS: {"type": "array", "items": {"type": "string"}},
}


def body_schema(fields: Sequence[Field]) -> dict[str, Any]:
    """The JSON schema of a body with ``fields`` (for the OpenAPI document)."""
    properties = {}
    for field in fields:
        schema = dict(_SCHEMAS[field.kind])
        if field.kind is Kind.STRING:
            schema["maxLength"] = field.max_length
            if field.pattern is not None:
                schema["pattern"] = f"^{field.pattern.pattern}$"
        if field.kind is Kind.INTEGER:
            schema |= {"minimum": field.minimum, "maximum": field.maximum}
        if field.choices:
            schema["enum"] = list(field.choices)
        if field.description:
            schema["description"] = field.description
        if field.nullable:
            schema["nullable"] = True
        properties[field.name] = schema
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [field.name for field in fields if field.required],
        "properties": properties,
    }


def decode_body(raw: bytes) -> dict[str, Any]:
    try:
        document = decode_json(raw) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError):
        raise LedgerError(400, "invalid_json", "the request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise invalid("the request body must be a JSON object")
    return document


def parse_body(document: dict[str, Any], fields: Sequence[Field], currency: str) -> dict[str, Any]:
    """Typed values of ``fields`` (absent optional ones as None), or a 400 naming the field."""
    known = {field.name for field in fields}
    unknown = sorted(set(document) - known)
    if unknown:
        raise invalid(f"unknown field {unknown[0]!r}")
    values: dict[str, Any] = {}
    for field in fields:
        value = document.get(field.name)
        if value is None:
            if field.required and not field.nullable:
                raise invalid(f"{field.name} is required")
            values[field.name] = None
            continue
        values[field.name] = _parse(field, value, currency)
    return values


def _parse(field: Field, value: object, currency: str) -> Any:
    name = field.name
    match field.kind:
        case Kind.STRING:
            if not isinstance(value, str) or not value.strip():
                raise invalid(f"{name} must be a non-empty string")
            if len(value) > field.max_length:
                raise invalid(f"{name} is longer than {field.max_length} characters")
            if field.choices and value not in field.choices:
                raise invalid(f"{name} must be one of {', '.join(field.choices)}")
            if field.pattern is not None:
                check_id(name, value, field.pattern)
            return value
        case Kind.AMOUNT:
            return amount_minor(name, value, currency)
        case Kind.DECIMAL:
            if isinstance(value, str) and len(value) > MAX_DECIMAL_TEXT:
                raise invalid(f"{name} has more than {MAX_DECIMAL_TEXT} characters")
            number = _decimal(name, value)
            if number < 0:
                raise invalid(f"{name} must not be negative")
            return number
        case Kind.INTEGER:
            if type(value) is not int or not field.minimum <= value <= field.maximum:
                raise invalid(f"{name} must be an integer from {field.minimum} to {field.maximum}")
            return value
        case Kind.BOOLEAN:
            if not isinstance(value, bool):
                raise invalid(f"{name} must be true or false")
            return value
        case Kind.TIME:
            return time_us(name, value)
        case Kind.OBJECT:
            if not isinstance(value, dict):
                raise invalid(f"{name} must be an object")
            return value
        case Kind.STRINGS:
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise invalid(f"{name} must be a list of strings")
            return value


def _decimal(name: str, value: object) -> Decimal:
    if not isinstance(value, str):
        raise LedgerError(
            400, "invalid_amount", f'amounts are decimal strings: write {name} as "10.00"'
        )
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise LedgerError(400, "invalid_amount", f"{name} is not a decimal number: {value!r}")
    return number


def amount_minor(name: str, value: object, currency: str) -> int:
    """A decimal string in ``currency`` as integer minor units; more decimals are refused."""
    number = _decimal(name, value)
    minor = number.scaleb(currency_exponent(currency))
    if abs(minor) >= MAX_AMOUNT_MINOR:
        raise LedgerError(400, "invalid_amount", f"{name} is implausibly large")
    if minor != minor.to_integral_value():
        raise LedgerError(
            400,
            "invalid_amount",
            f"{name} has more decimals than {currency} allows ({currency_exponent(currency)})",
        )
    return int(minor)


def time_us(name: str, value: object) -> int:
    """An ISO 8601 instant with a UTC offset, as epoch microseconds."""
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            instant = None
        if instant is not None and instant.utcoffset() is not None:
            return to_us(instant)
    raise invalid(f"{name} must be an ISO 8601 time with a UTC offset, got {value!r}")


def check_id(name: str, value: str, pattern: re.Pattern[str] = ID_PATTERN) -> str:
    """``value`` if it is a well-formed id, else a 400 naming ``name``."""
    if pattern.fullmatch(value) is None:
        raise invalid(
            f"{name} {value!r} is not a valid id: letters, digits and "
            f"{'_ . : -' if pattern is POINT_ID_PATTERN else '_ . -'} only, "
            "starting with a letter or digit"
        )
    return value
