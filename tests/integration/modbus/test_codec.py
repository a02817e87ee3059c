"""Register decoding: every type and word order, exactly inverse to encoding; bad values → None."""

from decimal import Decimal
import struct

from hypothesis import given, strategies as st
import pytest

from custom_components.tenant_metering.sources.modbus.core.codec import (
    decode,
    encode,
    f32_ulp,
    resolution,
    shortest_f32_decimal,
)
from custom_components.tenant_metering.sources.modbus.core.profile import (
    DataType,
    Quantity,
    Table,
    ValueSpec,
    WordOrder,
)
from custom_components.tenant_metering.units import to_wh


def spec(
    data_type: DataType,
    *,
    quantity: Quantity = Quantity.POWER,
    order: WordOrder = WordOrder.HIGH_FIRST,
    scale: str = "1",
    unit: str = "W",
) -> ValueSpec:
    return ValueSpec(
        quantity=quantity,
        table=Table.INPUT,
        address=0,
        data_type=data_type,
        word_order=order,
        scale=Decimal(scale),
        unit=unit,
    )


def f32_words(value: float) -> list[int]:
    bits = int.from_bytes(struct.pack(">f", value), "big")
    return [bits >> 16, bits & 0xFFFF]


@pytest.mark.parametrize(
    ("data_type", "order", "words", "expected"),
    [
        (DataType.U16, WordOrder.HIGH_FIRST, [0xFFFF], 65535),
        (DataType.I16, WordOrder.HIGH_FIRST, [0xFFFF], -1),
        (DataType.U32, WordOrder.HIGH_FIRST, [0x0001, 0x0002], 0x0001_0002),
        (DataType.U32, WordOrder.LOW_FIRST, [0x0002, 0x0001], 0x0001_0002),
        (DataType.I32, WordOrder.HIGH_FIRST, [0xFFFF, 0xFFFE], -2),
        (DataType.I32, WordOrder.LOW_FIRST, [0xFFFE, 0xFFFF], -2),
        (DataType.F32, WordOrder.HIGH_FIRST, f32_words(-712.4), Decimal("-712.4")),
        (DataType.F32, WordOrder.LOW_FIRST, f32_words(-712.4)[::-1], Decimal("-712.4")),
    ],
)
def test_types_and_word_orders(
    data_type: DataType, order: WordOrder, words: list[int], expected: Decimal | int
) -> None:
    value_spec = spec(data_type, order=order)
    assert decode(value_spec, words) == expected
    assert encode(value_spec, expected) == words


def test_pzem_current_is_scaled_low_word_first() -> None:
    current = spec(
        DataType.U32, quantity=Quantity.CURRENT, order=WordOrder.LOW_FIRST, scale="0.001", unit="A"
    )
    assert decode(current, [0x5BA0, 0x0001]) == Decimal("88.992")


def test_units_convert_to_canonical_units() -> None:
    kilowatts = spec(DataType.F32, unit="kW")
    assert decode(kilowatts, f32_words(1.5)) == Decimal(1500)
    kwh = spec(DataType.U32, quantity=Quantity.ENERGY, scale="0.01", unit="kWh")
    assert decode(kwh, [0, 123456]) == Decimal(1234560)


def test_f32_kwh_reads_as_the_decimal_the_meter_meant() -> None:
    energy = spec(DataType.F32, quantity=Quantity.ENERGY, unit="kWh")
    assert shortest_f32_decimal(struct.unpack(">f", struct.pack(">f", 1234.567))[0]) == Decimal(
        "1234.567"
    )
    assert to_wh(decode(energy, encode(energy, Decimal(1234567))) or Decimal(-1)) == 1234567


@pytest.mark.parametrize(
    ("kwh", "ulp_wh"),
    [(Decimal(1000), Decimal("0.06103515625")), (Decimal(12345), Decimal("0.9765625"))],
)
def test_f32_resolution_grows_with_the_counter(kwh: Decimal, ulp_wh: Decimal) -> None:
    energy = spec(DataType.F32, quantity=Quantity.ENERGY, unit="kWh")
    assert resolution(energy, kwh * 1000) == ulp_wh
    assert f32_ulp(Decimal(100_000)) * 1000 == Decimal("7.8125")


@given(st.integers(min_value=0, max_value=9_999_999))
def test_f32_kwh_round_trips_every_counter_with_seven_digits(wh: int) -> None:
    """Up to 9 999.999 kWh an f32 kWh register carries every Wh exactly."""
    energy = spec(DataType.F32, quantity=Quantity.ENERGY, unit="kWh")
    decoded = decode(energy, encode(energy, Decimal(wh)))
    assert decoded is not None
    assert to_wh(decoded) == wh


@given(st.integers(min_value=-(2**31), max_value=2**31 - 1), st.sampled_from(list(WordOrder)))
def test_i32_round_trips(number: int, order: WordOrder) -> None:
    value_spec = spec(DataType.I32, order=order, scale="0.1")
    value = Decimal(number) / 10
    words = encode(value_spec, value)
    assert decode(value_spec, words) == (value if abs(value) <= 10_000_000 else None)


@pytest.mark.parametrize(
    ("quantity", "unit", "words"),
    [
        (Quantity.VOLTAGE, "V", f32_words(float("nan"))),
        (Quantity.ENERGY, "kWh", f32_words(float("inf"))),
        (Quantity.VOLTAGE, "V", f32_words(5000.0)),
        (Quantity.POWER_FACTOR, "", f32_words(1.5)),
        (Quantity.ENERGY, "kWh", f32_words(-1.0)),
    ],
)
def test_bad_register_values_decode_to_none(
    quantity: Quantity, unit: str, words: list[int]
) -> None:
    assert decode(spec(DataType.F32, quantity=quantity, unit=unit), words) is None


def test_encode_refuses_what_the_register_cannot_hold() -> None:
    with pytest.raises(ValueError, match="does not fit u16"):
        encode(spec(DataType.U16, scale="0.1"), 7000)
    with pytest.raises(ValueError, match="does not fit u32"):
        encode(spec(DataType.U32), -1)


def test_word_count_is_checked() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode(spec(DataType.U32), [1])
