"""The readings payload (MQTT ``{prefix}/readings`` and ``POST /api/readings``), parsed strictly.

``{"v":2,"readings":[{"point":"ha:water_201","ts":1763800000,"volume_l":123456,"seq":7}]}``
Each reading carries one register: ``energy_wh`` (integer Wh: electricity, heat) or, from
version 2 on, ``volume_l`` (integer litres: water, gas). A message without ``"v"`` is version 1
(``energy_wh`` only), so every message sent before version 2 stays valid. Times are integer
epoch seconds; anything else is refused rather than guessed at, because a wrong reading
becomes a wrong bill.

Any bytes at all may arrive on the broker: ``decode_readings`` answers with readings or a
``PayloadError``, never with another exception, whatever the size, depth or encoding. The
limits (docs/ledger-contract.md, "Readings"): at most ``MAX_PAYLOAD_BYTES`` bytes, strict UTF-8
JSON nested at most ``MAX_DEPTH`` levels (orjson's parser, which does not recurse on the
interpreter's stack), at most ``MAX_READINGS`` readings, point ids of printable text.
"""

import hashlib
import re
from typing import Any, Final, NamedTuple

import orjson

from tenant_ledger.billing.resources import READINGS_KEYS, Unit

MAX_PAYLOAD_BYTES: Final = 1024 * 1024
MAX_DEPTH: Final = 1024
"""orjson's fixed nesting limit; a readings document needs 3 levels."""
MAX_READINGS: Final = 10_000
MAX_POINT_ID: Final = 200
POINT_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$"
"""A metering point's id, as the API creates them (``mqtt:a4cf12ab34cd:1``, ``ha:sensor.x``):
safe in MQTT topics, URLs, logs and every database."""
_POINT_ID: Final = re.compile(POINT_ID_PATTERN, re.ASCII)
# Far beyond any real register or date, yet inside 64-bit columns and Python's datetime.
MAX_VALUE: Final = {"ts": 10**11, "seq": 2**53} | dict.fromkeys(READINGS_KEYS, 2**53)
VERSION_KEYS: Final[dict[int, tuple[str, ...]]] = {1: ("energy_wh",), 2: tuple(READINGS_KEYS)}
"""The register keys each version of the readings message allows."""
EXCERPT_CHARS: Final = 300
"""How much of an unreadable message is kept for the landlord to look at."""


class IncomingReading(NamedTuple):
    """A reading as a message brought it (a named tuple: a batch makes tens of thousands)."""

    point_id: str
    ts: int
    register: int
    """The cumulative register, whole ``unit``s."""
    unit: Unit
    seq: int | None


class PayloadError(ValueError):
    """A payload that cannot be stored; ``kind`` groups errors for counting and log-once."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(printable(message))
        self.kind = kind


def printable(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with every unprintable one escaped (``\\x00``).

    What is left is storable in any database (no NUL, no lone surrogate) and safe to show.
    """
    shown = "".join(
        char if char.isprintable() else char.encode("unicode_escape", "backslashreplace").decode()
        for char in text[:limit]
    )
    return shown if len(text) <= limit else f"{shown}…"


def excerpt(raw: bytes) -> str:
    """The start of a message as printable text, bytes that are not UTF-8 as ``\\xff``."""
    return printable(raw[: EXCERPT_CHARS * 4].decode("utf-8", "backslashreplace"))


def fingerprint(raw: bytes) -> str:
    """Identifies a message (sha256 hex): the same bytes delivered again are the same message."""
    return hashlib.sha256(raw).hexdigest()


def decode_readings(raw: bytes) -> list[IncomingReading]:
    """The readings of a raw message, or PayloadError saying why there are none."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(
            "too_large", f"payload of {len(raw)} bytes exceeds {MAX_PAYLOAD_BYTES} bytes"
        )
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise PayloadError("invalid_json", f"payload is not JSON: {err}") from None
    return parse_readings(document)


def _whole(item: dict[str, Any], key: str, index: int, *, minimum: int) -> int:
    value = item.get(key)
    if type(value) is not int or not minimum <= value <= MAX_VALUE[key]:
        raise PayloadError(
            f"invalid_{key}",
            f"readings[{index}].{key} must be an integer from {minimum} to {MAX_VALUE[key]}, "
            f"got {printable(repr(value), 40)}",
        )
    return value


def _point(item: dict[str, Any], index: int) -> str:
    """A point id as points are created: a NUL or a lone surrogate could be neither stored nor
    shown, and no other id could ever be assigned to a tenant."""
    point = item.get("point")
    if not isinstance(point, str) or not _POINT_ID.fullmatch(point):
        raise PayloadError(
            "invalid_point",
            f"readings[{index}].point must be a point id: up to {MAX_POINT_ID} letters, digits "
            "and _ . : - (starting with a letter or digit)",
        )
    return point


def _version(document: dict[str, Any]) -> int:
    version = document.get("v", 1)
    if type(version) is not int or version not in VERSION_KEYS:
        raise PayloadError(
            "unsupported_version",
            f"v must be one of {sorted(VERSION_KEYS)} (absent is 1), "
            f"got {printable(repr(version), 40)}",
        )
    return version


def _register(item: dict[str, Any], index: int, version: int) -> tuple[int, Unit]:
    """The reading's one register and its unit."""
    present = [key for key in READINGS_KEYS if key in item]
    allowed = VERSION_KEYS[version]
    if len(present) != 1 or present[0] not in allowed:
        raise PayloadError(
            "invalid_register",
            f"readings[{index}] must have exactly one of {', '.join(allowed)} "
            f"(version {version}), got {', '.join(present) or 'none'}",
        )
    return _whole(item, present[0], index, minimum=0), READINGS_KEYS[present[0]]


def parse_readings(document: Any) -> list[IncomingReading]:
    """The readings of a decoded payload, or PayloadError naming the first bad field."""
    if not isinstance(document, dict) or not isinstance(document.get("readings"), list):
        raise PayloadError("not_readings", 'expected an object {"readings": [...]}')
    version = _version(document)
    if len(document["readings"]) > MAX_READINGS:
        raise PayloadError("too_many_readings", f"more than {MAX_READINGS} readings in one message")
    parsed = []
    valid_points: set[str] = set()  # a message mostly repeats a few points: checked once each
    for index, item in enumerate(document["readings"]):
        if not isinstance(item, dict):
            raise PayloadError("invalid_reading", f"readings[{index}] must be an object")
        seq = None if item.get("seq") is None else _whole(item, "seq", index, minimum=0)
        point_id = item.get("point")
        if not (isinstance(point_id, str) and point_id in valid_points):
            point_id = _point(item, index)
            valid_points.add(point_id)
        ts = _whole(item, "ts", index, minimum=1)
        register, unit = _register(item, index, version)
        parsed.append(IncomingReading(point_id, ts, register, unit, seq))
    return parsed
