"""Register codec: known vectors for every type and order, round trips, bad input."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import CodecError
from connectors.modbus.codec import (
    decode,
    decode_engineering,
    encode,
    encode_engineering,
    to_engineering,
)
from models import DataType, Endian, ModbusAddress, Tag

B, L = Endian.BIG, Endian.LITTLE

# (type, value, registers for byte/word order BB, BL(word little), LB(byte little), LL)
VECTORS = [
    (DataType.INT16, -2, {(B, B): [0xFFFE], (B, L): [0xFFFE], (L, B): [0xFEFF], (L, L): [0xFEFF]}),
    (
        DataType.UINT16,
        0x1234,
        {(B, B): [0x1234], (B, L): [0x1234], (L, B): [0x3412], (L, L): [0x3412]},
    ),
    (
        DataType.INT32,
        -2,
        {
            (B, B): [0xFFFF, 0xFFFE],
            (B, L): [0xFFFE, 0xFFFF],
            (L, B): [0xFFFF, 0xFEFF],
            (L, L): [0xFEFF, 0xFFFF],
        },
    ),
    (
        DataType.UINT32,
        0x12345678,
        {
            (B, B): [0x1234, 0x5678],
            (B, L): [0x5678, 0x1234],
            (L, B): [0x3412, 0x7856],
            (L, L): [0x7856, 0x3412],
        },
    ),
    (
        DataType.FLOAT32,
        123.456,
        {
            (B, B): [0x42F6, 0xE979],
            (B, L): [0xE979, 0x42F6],
            (L, B): [0xF642, 0x79E9],
            (L, L): [0x79E9, 0xF642],
        },
    ),
]


def address(data_type: DataType, byte_order: Endian = B, word_order: Endian = B) -> ModbusAddress:
    return ModbusAddress(
        address=0, data_type=data_type, byte_order=byte_order, word_order=word_order
    )


@pytest.mark.parametrize(("data_type", "value", "by_order"), VECTORS)
@pytest.mark.parametrize("orders", [(B, B), (B, L), (L, B), (L, L)])
def test_known_vectors_decode_and_encode(
    data_type: DataType,
    value: float,
    by_order: dict[tuple[Endian, Endian], list[int]],
    orders: tuple[Endian, Endian],
) -> None:
    addr = address(data_type, *orders)
    registers = by_order[orders]
    decoded = decode(registers, addr)
    if data_type is DataType.FLOAT32:
        assert decoded == pytest.approx(value, rel=1e-6)
    else:
        assert decoded == value
    assert encode(value, addr) == registers


orders = st.sampled_from([B, L])


@given(st.integers(-(2**15), 2**15 - 1), orders, orders)
def test_int16_round_trip(value: int, byte_order: Endian, word_order: Endian) -> None:
    addr = address(DataType.INT16, byte_order, word_order)
    assert decode(encode(value, addr), addr) == value


@given(st.integers(0, 2**16 - 1), orders, orders)
def test_uint16_round_trip(value: int, byte_order: Endian, word_order: Endian) -> None:
    addr = address(DataType.UINT16, byte_order, word_order)
    assert decode(encode(value, addr), addr) == value


@given(st.integers(-(2**31), 2**31 - 1), orders, orders)
def test_int32_round_trip(value: int, byte_order: Endian, word_order: Endian) -> None:
    addr = address(DataType.INT32, byte_order, word_order)
    assert decode(encode(value, addr), addr) == value


@given(st.integers(0, 2**32 - 1), orders, orders)
def test_uint32_round_trip(value: int, byte_order: Endian, word_order: Endian) -> None:
    addr = address(DataType.UINT32, byte_order, word_order)
    assert decode(encode(value, addr), addr) == value


@given(st.floats(width=32, allow_nan=False), orders, orders)
def test_float32_round_trip(value: float, byte_order: Endian, word_order: Endian) -> None:
    addr = address(DataType.FLOAT32, byte_order, word_order)
    assert decode(encode(value, addr), addr) == value


@given(st.lists(st.integers(0, 0xFFFF), min_size=2, max_size=2), orders, orders)
def test_any_two_registers_decode_and_reencode_identically(
    registers: list[int], byte_order: Endian, word_order: Endian
) -> None:
    for data_type in (DataType.INT32, DataType.UINT32):
        addr = address(data_type, byte_order, word_order)
        assert encode(decode(registers, addr), addr) == registers


def test_nan_from_device_is_an_error_not_a_value() -> None:
    tag = Tag(name="t", address=address(DataType.FLOAT32))
    nan_registers = list(struct.unpack(">HH", struct.pack(">f", math.nan)))
    with pytest.raises(CodecError, match="not a number"):
        decode_engineering(tag, nan_registers)
    with pytest.raises(CodecError, match="not a number"):
        to_engineering(tag, math.inf)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.INT16, 40000),
        (DataType.UINT16, -1),
        (DataType.UINT32, 2**32),
        (DataType.INT32, -(2**31) - 1),
    ],
)
def test_out_of_range_values_refuse_to_encode(data_type: DataType, value: int) -> None:
    with pytest.raises(CodecError, match="does not fit"):
        encode(value, address(data_type))


def test_wrong_register_count_and_out_of_range_register_are_errors() -> None:
    with pytest.raises(CodecError, match="needs 2 register"):
        decode([1], address(DataType.FLOAT32))
    with pytest.raises(CodecError, match="16-bit"):
        decode([0x10000], address(DataType.UINT16))


def test_scale_and_offset_apply_both_ways() -> None:
    tag = Tag(name="t", address=address(DataType.INT16), scale=0.1, offset=-40.0)
    registers = encode_engineering(tag, 21.5)
    assert registers == [615]
    assert decode_engineering(tag, registers) == pytest.approx(21.5)
