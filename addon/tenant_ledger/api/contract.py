"""The API's value types and request parsing: one pydantic definition validates and documents.

Every body, query and path parameter is a pydantic model or type from here; the OpenAPI
document is generated from the same models (``openapi.py``), so the two cannot drift. A value
the document allows is one the handlers accept: whatever can still go wrong (an unknown id, a
state that forbids the change) answers 404 or 409, not 400. The exceptions are rules a schema
cannot state, each named in its operation's summary (a tariff is the billing engine's JSON; a
report window ends after it starts).

Money travels as decimal strings ("10.00") in the one grammar of ``billing.money``: a JSON
number for an amount is refused, because a binary float cannot hold 0.1 and the API must not
guess what was meant.
"""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
import json
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from tenant_ledger.billing.money import (
    MAX_AMOUNT_TEXT,
    AmountError,
    AmountSign,
    parse_amount,
)
from tenant_ledger.billing.resources import Resource
from tenant_ledger.billing.timestamps import to_us
from tenant_ledger.errors import LedgerError, invalid, not_found
from tenant_ledger.readings_in import POINT_ID_PATTERN

MAX_JSON_DEPTH = 32
"""Deepest nesting a request body may have (a tariff needs 4)."""
MAX_INTEGER = 100_000
MAX_QUERY_INT = 2**62
"""Query integers above this are treated as this (every stored time and id is below)."""
MAX_POWER_W = 10**9  # a point's maximum power: 1 GW covers any building's incomer
CURRENCY_CONTEXT = "currency"

# Ids go into MQTT topics and URLs: no '+', '#', '/' or spaces.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# Text a person wrote: something besides whitespace, and no NUL (no database stores it).
TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"
# An ISO 8601 instant with its UTC offset, in the years 2000-2199 (billing.timestamps'
# FIRST_DAY..LAST_DAY): every date the ledger computes from it stays in range.
TIME_PATTERN = (
    r"^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
DECIMAL_PATTERN = r"^[0-9]{1,15}(\.[0-9]{1,12})?$"

_CONFIG = ConfigDict(extra="forbid", regex_engine="python-re", strict=True)


def typed(max_length: int) -> StringConstraints:
    """Text someone typed, up to ``max_length`` characters."""
    return StringConstraints(min_length=1, max_length=max_length, pattern=TEXT_PATTERN)


Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
PointId = Annotated[str, StringConstraints(pattern=POINT_ID_PATTERN)]
Name = Annotated[str, typed(200)]
ResourceName = Annotated[
    Resource,
    # Not strict: the JSON text "water" is the member Resource.WATER.
    Field(strict=False, description="electricity (Wh), water (L), gas (L) or heat (Wh)"),
]
UserId = Annotated[str, typed(64), Field(description="Home Assistant user id")]
Actor = Annotated[str, typed(200), Field(description="who acted (default: the token's name)")]
Reason = Annotated[str, typed(2000), Field(description="why (kept in the audit log)")]
Ref = Annotated[
    str,
    typed(100),
    Field(description="idempotency key: a second posting with the same ref is refused (409)"),
]


def refuse(message: str) -> PydanticCustomError:
    """A model's own check failed: a 400 ``invalid`` with ``message``."""
    return PydanticCustomError("invalid", message)


def _decimal_text(value: object) -> Decimal:
    if not isinstance(value, str) or re.fullmatch(DECIMAL_PATTERN, value, re.ASCII) is None:
        raise PydanticCustomError(
            "invalid_decimal", "must be a decimal string of digits and an optional point"
        )
    return Decimal(value)


NonNegativeDecimal = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN, "example": "12.5"}),
]


def _time(value: object) -> int:
    if isinstance(value, str) and re.fullmatch(TIME_PATTERN, value, re.ASCII):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            instant = None
        if instant is not None and instant.utcoffset() is not None:
            return to_us(instant)
    raise PydanticCustomError(
        "invalid_time",
        "must be an ISO 8601 time with a UTC offset in the years 2000-2199, got {value}",
        {"value": repr(value)[:80]},
    )


Time = Annotated[
    int,
    BeforeValidator(_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": TIME_PATTERN,
            "example": "2026-11-30T18:00:00+01:00",
        }
    ),
]
"""An instant as epoch microseconds, sent as ISO 8601 with its UTC offset."""


def _amount_validator(sign: AmountSign) -> Callable[[object, ValidationInfo], int]:
    def validate(value: object, info: ValidationInfo) -> int:
        name = info.field_name or "amount"
        if not isinstance(value, str):
            raise PydanticCustomError(
                "invalid_amount",
                'amounts are decimal strings: write {name} as "10.00"',
                {"name": name},
            )
        currency = (info.context or {})[CURRENCY_CONTEXT]
        try:
            return parse_amount(value, currency, sign)
        except AmountError as err:
            raise PydanticCustomError(
                err.code, "{name} {message}", {"name": name, "message": err.message}
            ) from None

    return validate


def _amount_schema(sign: AmountSign) -> WithJsonSchema:
    """The document carries ``x-amount``; ``openapi.py`` turns it into the pattern of the
    ledger's currency, which ``billing.money.amount_pattern`` writes from the same grammar."""
    return WithJsonSchema({"type": "string", "maxLength": MAX_AMOUNT_TEXT, "x-amount": sign.value})


# Amounts in the ledger currency, as minor units, each taking the sign its use allows.
PositiveAmount = Annotated[
    int,
    BeforeValidator(_amount_validator(AmountSign.POSITIVE)),
    _amount_schema(AmountSign.POSITIVE),
]
NonzeroAmount = Annotated[
    int, BeforeValidator(_amount_validator(AmountSign.NONZERO)), _amount_schema(AmountSign.NONZERO)
]
NonNegativeAmount = Annotated[
    int,
    BeforeValidator(_amount_validator(AmountSign.NON_NEGATIVE)),
    _amount_schema(AmountSign.NON_NEGATIVE),
]
SignedAmount = Annotated[
    int, BeforeValidator(_amount_validator(AmountSign.ANY)), _amount_schema(AmountSign.ANY)
]


class Request(BaseModel):
    """Part of a request: a body, or query parameters."""

    @classmethod
    def refused(cls, error: ValidationError) -> LedgerError:
        """The 400 for a request pydantic refused, naming the first field at fault."""
        code, message = _message(error.errors(include_url=False)[0])
        return LedgerError(400, code, message)


class Body(Request):
    """A request body: exactly these fields, JSON types as declared (no coercion)."""

    model_config = _CONFIG


class Query(Request):
    """Query parameters: exactly these, their text converted to the declared types."""

    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


def _query_digits(value: object, info: ValidationInfo) -> object:
    """Only ASCII digits make a query integer (not ``1_000``, ``١٢`` or ``+5``)."""
    if isinstance(value, str) and re.fullmatch("[0-9]{1,18}", value, re.ASCII) is None:
        raise PydanticCustomError(
            "invalid",
            "{name} must be a whole number of at most 18 ASCII digits",
            {"name": info.field_name},
        )
    return value


QueryInt = Annotated[int, Field(ge=0, le=10**18 - 1), BeforeValidator(_query_digits)]
"""A non-negative integer query parameter (at most 18 digits)."""
Limit = Annotated[QueryInt, Field(description="at most this many (max 10000)")]


class Action(Body):
    """Every change may name who acted; the reason is optional."""

    actor: Actor | None = None
    reason: Reason | None = None


class Reasoned(Body):
    """Every change may name who acted; the reason is required."""

    actor: Actor | None = None
    reason: Reason


PATH_PARAMETERS: dict[str, TypeAdapter[Any]] = {
    "tenant_id": TypeAdapter(Id),
    "tariff_id": TypeAdapter(Id),
    "point_id": TypeAdapter(PointId),
    "user_id": TypeAdapter(UserId),
    "name": TypeAdapter(Name),
    "statement_id": TypeAdapter(Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")]),
    "quarantine_id": TypeAdapter(Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")]),
    "alarm_id": TypeAdapter(Annotated[str, StringConstraints(pattern=r"^[0-9]{1,9}$")]),
}
"""Every path parameter's type: a value outside it names nothing, so it answers 404."""


CREATED_BY_PATH = frozenset({"tariff_id"})
"""Path parameters that name something the request creates: a bad one is a 400, not a 404."""


def path_parameter(name: str, value: str) -> str:
    try:
        return str(PATH_PARAMETERS[name].validate_python(value))
    except ValidationError:
        kind = name.removesuffix("_id")
        if name in CREATED_BY_PATH:
            raise invalid(
                f"{kind} {value[:80]!r} is not a valid id: letters, digits and _ . - only, "
                "starting with a letter or digit"
            ) from None
        raise not_found(kind, value[:80]) from None


# -- request bodies ---------------------------------------------------------------------------


MAX_NUMBER_DIGITS = 30
"""Longest JSON number (in characters) a body may hold: any real count, id or register fits."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _bounded_decimal(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, kept exact; ``1e999999`` is refused."""
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has more than {MAX_NUMBER_DIGITS} characters")
    number = Decimal(text)
    if abs(number.adjusted()) > MAX_NUMBER_DIGITS:
        raise ValueError(f"the number {text} is out of range")
    return number


def _depth(document: object) -> int:
    """How deeply ``document`` nests (iteratively: any depth is measured without recursion)."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _bad_text(document: object) -> str | None:
    """Why a string in ``document`` cannot be stored (lone surrogate, NUL), or None."""
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.keys())
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            if "\x00" in node:
                return "a string contains a NUL character"
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return "a string contains a lone surrogate (not Unicode text)"
    return None


def decode_body(raw: bytes) -> Any:
    """The JSON document of a request body, or a 400 ``invalid_json`` saying what is wrong.

    Strict UTF-8, numbers with a fraction as Decimal (never float), no NaN or Infinity,
    at most ``MAX_JSON_DEPTH`` levels, and only text every database can store.
    """
    if not raw.strip():
        return {}
    try:
        document = json.loads(
            raw.decode("utf-8"),
            parse_float=_bounded_decimal,
            parse_int=_bounded_int,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError:
        raise LedgerError(400, "invalid_json", "the request body is not UTF-8") from None
    except RecursionError:
        raise LedgerError(400, "invalid_json", "the request body nests too deeply") from None
    except ValueError as err:
        raise LedgerError(
            400, "invalid_json", f"the request body is not valid JSON: {err}"
        ) from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise LedgerError(
            400, "invalid_json", f"the request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    problem = _bad_text(document)
    if problem is not None:
        raise LedgerError(400, "invalid_json", f"the request body is not storable: {problem}")
    return document


def _location(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "body"


def _message(error: Any) -> tuple[str, str]:
    """The API's (code, message) for one pydantic error."""
    where = _location(error)
    kind = error["type"]
    if kind == "missing":
        return "invalid", f"{where} is required"
    if kind == "extra_forbidden":
        return "invalid", f"unknown field {str(error['loc'][-1])[:80]!r}"
    if kind in ("invalid_amount", "invalid"):
        return kind, str(error["msg"])
    if kind in ("invalid_time", "invalid_decimal"):
        return "invalid", f"{where} {error['msg']}"
    if kind == "string_type" or (kind == "string_too_short" and error["loc"]):
        return "invalid", f"{where} must be a non-empty string"
    if kind == "string_pattern_mismatch":
        return "invalid", f"{where} {error['input']!r:.80} is {_pattern_hint(error)}"
    return "invalid", f"{where}: {error['msg']}"


def _pattern_hint(error: Any) -> str:
    pattern = error.get("ctx", {}).get("pattern")
    if pattern in (ID_PATTERN, POINT_ID_PATTERN):
        extra = "_ . : -" if pattern == POINT_ID_PATTERN else "_ . -"
        return f"not a valid id: letters, digits and {extra} only, starting with a letter or digit"
    if pattern == TEXT_PATTERN:
        return "not valid: it must contain more than whitespace, and no NUL"
    return f"not valid: it must match {pattern}"


def parse[M: Request](model: type[M], data: Any, currency: str) -> M:
    try:
        return model.model_validate(data, context={CURRENCY_CONTEXT: currency})
    except ValidationError as err:
        raise model.refused(err) from None


def parse_body[M: Request](model: type[M], document: Any, currency: str) -> M:
    if not isinstance(document, dict):
        raise invalid("the request body must be a JSON object")
    return parse(model, document, currency)
