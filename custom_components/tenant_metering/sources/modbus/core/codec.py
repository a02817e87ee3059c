"""Registers ⇄ canonical numbers, exactly: Decimal throughout, floats only inside f32 words.

``decode`` and ``encode`` are inverses (the simulated meters use ``encode``), so a value
written to a simulated meter reads back unchanged wherever the register format can hold it.

f32 precision: an IEEE-754 single has a 24-bit significand, about 7 significant decimal
digits. An f32 register is read as the *shortest* decimal that maps to the same 32 bits
(what the meter's firmware meant to write: 1234.56, not 1234.56005859375). An SDM kWh
counter at 12 345 kWh therefore resolves about 1 Wh; at 100 000 kWh, 7.8 Wh; at 1 000 000
kWh, 62.5 Wh (see ``resolution``).
"""

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
import math
import struct

from .profile import PLAUSIBLE_RANGE, DataType, ValueSpec, WordOrder

_MAX_SIGNIFICANT_DIGITS_F32 = 9  # enough for any f32 to round-trip through decimal text


def _join_words(words: Sequence[int], order: WordOrder) -> int:
    high, low = (words[0], words[1]) if order is WordOrder.HIGH_FIRST else (words[1], words[0])
    return (high << 16) | low


def _split_words(number: int, order: WordOrder) -> list[int]:
    high, low = (number >> 16) & 0xFFFF, number & 0xFFFF
    return [high, low] if order is WordOrder.HIGH_FIRST else [low, high]


def _f32_from_bits(bits: int) -> float:
    value: float = struct.unpack(">f", bits.to_bytes(4, "big"))[0]
    return value


def _f32_bits(value: float) -> int:
    return int.from_bytes(struct.pack(">f", value), "big")


def shortest_f32_decimal(value: float) -> Decimal:
    """The shortest decimal whose nearest f32 is ``value``'s f32 (``value`` must be finite)."""
    bits = _f32_bits(value)
    for digits in range(1, _MAX_SIGNIFICANT_DIGITS_F32 + 1):
        text = f"{value:.{digits}g}"
        if _f32_bits(float(text)) == bits:
            return Decimal(text)
    raise AssertionError("unreachable: 9 significant digits round-trip every f32")


def f32_ulp(value: Decimal) -> Decimal:
    """The gap between ``value``'s f32 and the next one up: the f32 noise floor at ``value``."""
    _mantissa, exponent = math.frexp(abs(float(value)))
    return Decimal(2) ** max(exponent - 24, -149)


def raw_number(spec: ValueSpec, words: Sequence[int]) -> Decimal | None:
    """The register number before scaling; None for NaN or infinity."""
    if len(words) != spec.count:
        raise ValueError(f"{spec.quantity} needs {spec.count} registers, got {len(words)}")
    number = words[0] if spec.count == 1 else _join_words(words, spec.word_order)
    match spec.data_type:
        case DataType.U16 | DataType.U32:
            return Decimal(number)
        case DataType.I16:
            return Decimal(number - 0x10000 if number & 0x8000 else number)
        case DataType.I32:
            return Decimal(number - 0x1_0000_0000 if number & 0x8000_0000 else number)
        case DataType.F32:
            value = _f32_from_bits(number)
            return shortest_f32_decimal(value) if math.isfinite(value) else None


def decode(spec: ValueSpec, words: Sequence[int]) -> Decimal | None:
    """The value in canonical units (V, A, W, Hz, ratio, Wh), or None when implausible."""
    raw = raw_number(spec, words)
    if raw is None:
        return None
    value = raw * spec.factor
    low, high = PLAUSIBLE_RANGE[spec.quantity]
    return value if low <= value <= high else None


def resolution(spec: ValueSpec, value: Decimal) -> Decimal:
    """The smallest step the register can show near ``value``, in canonical units."""
    step = f32_ulp(value / spec.factor) if spec.data_type is DataType.F32 else Decimal(1)
    return step * abs(spec.factor)


def encode(spec: ValueSpec, value: Decimal | float) -> list[int]:
    """Registers that ``decode`` turns back into ``value`` (integers round half-up)."""
    raw = Decimal(str(value)) / spec.factor
    if spec.data_type is DataType.F32:
        return _split_words(_f32_bits(float(raw)), spec.word_order)
    number = int(raw.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    bits = 16 * spec.count
    signed = spec.data_type in (DataType.I16, DataType.I32)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= number <= high:
        raise ValueError(f"{value} does not fit {spec.data_type} at scale {spec.scale}")
    number &= (1 << bits) - 1
    return [number] if spec.count == 1 else _split_words(number, spec.word_order)
