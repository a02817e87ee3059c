"""The readings payload (MQTT ``{prefix}/readings`` and ``POST /api/readings``), parsed strictly.

``{"readings":[{"point":"mqtt:a4cf12ab34cd:1","ts":1763800000,"energy_wh":1234567,"seq":1042}]}``
Registers are integer Wh and times integer epoch seconds; anything else is refused rather than
guessed at, because a wrong reading becomes a wrong bill.
"""

from dataclasses import dataclass
from decimal import Decimal
import json
from typing import Any

MAX_POINT_ID = 200
# Far beyond any real register or date, yet inside 64-bit columns and Python's datetime.
MAX_VALUE = {"ts": 10**11, "energy_wh": 2**53, "seq": 2**53}


@dataclass(frozen=True, slots=True)
class IncomingReading:
    point_id: str
    ts: int
    energy_wh: int
    seq: int | None


class PayloadError(ValueError):
    """A payload that cannot be stored; ``kind`` groups errors for counting and log-once."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def decode_json(raw: bytes) -> Any:
    """JSON with numbers that have a fraction kept as Decimal, so they can be refused exactly."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise PayloadError("invalid_json", f"payload is not JSON: {err}") from None


def _whole(item: dict[str, Any], key: str, index: int, *, minimum: int) -> int:
    value = item.get(key)
    if type(value) is not int or not minimum <= value <= MAX_VALUE[key]:
        raise PayloadError(
            f"invalid_{key}",
            f"readings[{index}].{key} must be an integer from {minimum} to {MAX_VALUE[key]}, "
            f"got {value!r}",
        )
    return value


def parse_readings(document: Any) -> list[IncomingReading]:
    """The readings of a decoded payload, or PayloadError naming the first bad field."""
    if not isinstance(document, dict) or not isinstance(document.get("readings"), list):
        raise PayloadError("not_readings", 'expected an object {"readings": [...]}')
    parsed = []
    for index, item in enumerate(document["readings"]):
        if not isinstance(item, dict):
            raise PayloadError("invalid_reading", f"readings[{index}] must be an object")
        point = item.get("point")
        if not isinstance(point, str) or not point or len(point) > MAX_POINT_ID:
            raise PayloadError(
                "invalid_point", f"readings[{index}].point must be a non-empty string"
            )
        seq = None if item.get("seq") is None else _whole(item, "seq", index, minimum=0)
        parsed.append(
            IncomingReading(
                point_id=point,
                ts=_whole(item, "ts", index, minimum=1),
                energy_wh=_whole(item, "energy_wh", index, minimum=0),
                seq=seq,
            )
        )
    return parsed
