"""Register codec: known vectors for every type and order, round trips, bits, strings, bad input."""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import CodecError
from connectors.modbus.codec import (
    Registers,
    TagCodec,
    decode,
    decode_engineering,
    encode,
    encode_engineering,
    to_engineering,
)
from models import DataType, Endian, ModbusAddress, RegisterKind, Tag

B, L = Endian.BIG, Endian.LITTLE
ORDERS = [(B, B), (B, L), (L, B), (L, L)]

# (type, value, registers for (byte order, word order)), derived by hand from the big-endian bytes
VECTORS: list[tuple[DataType, float, dict[tuple[Endian, Endian], list[int]]]] = [
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
    (
        DataType.INT64,
        -2,
        {
            (B, B): [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE],
            (B, L): [0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF],
            (L, B): [0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF],
            (L, L): [0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF],
        },
    ),
    (
        DataType.UINT64,
        0x0102030405060708,
        {
            (B, B): [0x0102, 0x0304, 0x0506, 0x0708],
            (B, L): [0x0708, 0x0506, 0x0304, 0x0102],
            (L, B): [0x0201, 0x0403, 0x0605, 0x0807],
            (L, L): [0x0807, 0x0605, 0x0403, 0x0201],
        },
    ),
    (
        DataType.FLOAT64,
        -123.456,  # 0xC05EDD2F1A9FBE77
        {
            (B, B): [0xC05E, 0xDD2F, 0x1A9F, 0xBE77],
            (B, L): [0xBE77, 0x1A9F, 0xDD2F, 0xC05E],
            (L, B): [0x5EC0, 0x2FDD, 0x9F1A, 0x77BE],
            (L, L): [0x77BE, 0x9F1A, 0x2FDD, 0x5EC0],
        },
    ),
]


def address(
    data_type: DataType, byte_order: Endian = B, word_order: Endian = B, **extra: Any
) -> ModbusAddress:
    return ModbusAddress(
        address=0, data_type=data_type, byte_order=byte_order, word_order=word_order, **extra
    )


def string_address(length: int, byte_order: Endian = B, encoding: str = "ascii") -> ModbusAddress:
    return ModbusAddress.model_validate(
        {
            "address": 0,
            "data_type": "string",
            "length": length,
            "byte_order": byte_order,
            "encoding": encoding,
        }
    )


@pytest.mark.parametrize(("data_type", "value", "by_order"), VECTORS)
@pytest.mark.parametrize("orders", ORDERS)
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


def test_one_response_buffer_decodes_every_field_at_its_offset() -> None:
    """A whole response decoded once: fields at their offsets, each in its own orders."""
    response = Registers([0x1234, 0x5678, 0x7856, 0x3412, 0x4142, 0x4300])
    big = TagCodec.of(Tag(name="a", address=address(DataType.UINT32)))
    swapped = TagCodec.of(Tag(name="b", address=address(DataType.UINT32, L, L)))
    text = TagCodec.of(Tag(name="c", address=string_address(2)))
    assert big.decode_from(response, 0) == 0x12345678
    assert swapped.decode_from(response, 2) == 0x12345678
    assert text.decode_from(response, 4) == "ABC"


orders = st.sampled_from([B, L])
RANGES = {
    DataType.INT16: st.integers(-(2**15), 2**15 - 1),
    DataType.UINT16: st.integers(0, 2**16 - 1),
    DataType.INT32: st.integers(-(2**31), 2**31 - 1),
    DataType.UINT32: st.integers(0, 2**32 - 1),
    DataType.INT64: st.integers(-(2**63), 2**63 - 1),
    DataType.UINT64: st.integers(0, 2**64 - 1),
    DataType.FLOAT32: st.floats(width=32, allow_nan=False),
    DataType.FLOAT64: st.floats(allow_nan=False),
}


@pytest.mark.parametrize("data_type", list(RANGES))
@given(data=st.data(), byte_order=orders, word_order=orders)
def test_every_number_type_round_trips_in_every_order(
    data_type: DataType, data: st.DataObject, byte_order: Endian, word_order: Endian
) -> None:
    value = data.draw(RANGES[data_type])
    addr = address(data_type, byte_order, word_order)
    registers = encode(value, addr)
    assert len(registers) == addr.count
    assert all(0 <= r <= 0xFFFF for r in registers)
    assert decode(registers, addr) == value


@pytest.mark.parametrize("data_type", [DataType.INT32, DataType.UINT32, DataType.INT64])
@given(data=st.data(), byte_order=orders, word_order=orders)
def test_any_registers_decode_and_reencode_identically(
    data_type: DataType, data: st.DataObject, byte_order: Endian, word_order: Endian
) -> None:
    addr = address(data_type, byte_order, word_order)
    registers = data.draw(
        st.lists(st.integers(0, 0xFFFF), min_size=addr.count, max_size=addr.count)
    )
    assert encode(decode(registers, addr), addr) == registers


@given(bit=st.integers(0, 15), flag=st.booleans(), byte_order=orders, noise=st.integers(0, 0xFFFF))
def test_a_bit_inside_a_register_round_trips_and_ignores_the_other_bits(
    bit: int, flag: bool, byte_order: Endian, noise: int
) -> None:
    addr = address(DataType.BOOL, byte_order, bit=bit)
    assert decode(encode(flag, addr), addr) is flag
    mask = 1 << bit
    word = (noise & ~mask) | (mask if flag else 0)
    register = word if byte_order is B else int.from_bytes(word.to_bytes(2, "big"), "little")
    assert decode([register], addr) is flag


def test_bit_numbers_count_from_the_least_significant_bit() -> None:
    assert decode([0x0001], address(DataType.BOOL, bit=0)) is True
    assert decode([0x8000], address(DataType.BOOL, bit=15)) is True
    assert decode([0x8000], address(DataType.BOOL, bit=14)) is False
    assert decode([0x0100], address(DataType.BOOL, L, bit=0)) is True, "byte-swapped register"
    assert decode([0x0200], address(DataType.BOOL)) is True, "no bit: any non-zero register"
    assert decode([0], address(DataType.BOOL)) is False


def test_coils_and_discrete_inputs_are_single_bits() -> None:
    coil = ModbusAddress(kind=RegisterKind.COIL, address=7, data_type=DataType.BOOL)
    assert coil.count == 1
    assert decode([True], coil) is True
    assert encode(False, coil) == [0]
    tag = Tag(name="run", address=coil)
    assert decode_engineering(tag, [1]) is True


@given(
    text=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=8),
    byte_order=orders,
)
def test_ascii_strings_round_trip_in_both_byte_orders(text: str, byte_order: Endian) -> None:
    addr = string_address(4, byte_order)
    registers = encode(text, addr)
    assert len(registers) == 4
    assert decode(registers, addr) == text


@given(text=st.text(max_size=10).map(lambda s: s.rstrip(" \x00")))
def test_utf8_strings_round_trip(text: str) -> None:
    addr = string_address(16, encoding="utf-8")
    if len(text.encode()) > 32:
        with pytest.raises(CodecError, match="the tag holds 32"):
            encode(text, addr)
    else:
        assert decode(encode(text, addr), addr) == text


def test_strings_lose_trailing_nuls_and_spaces_and_keep_byte_order() -> None:
    addr = string_address(4)
    assert decode([0x4142, 0x4320, 0x2000, 0x0000], addr) == "ABC"  # "ABC  \0\0\0"
    assert decode([0x4241, 0x0043, 0, 0], string_address(4, L)) == "ABC"
    assert encode("AB", addr) == [0x4142, 0, 0, 0]


def test_strings_that_do_not_fit_or_decode_are_errors() -> None:
    with pytest.raises(CodecError, match="holds 4"):
        encode("ABCDE", string_address(2))
    with pytest.raises(CodecError, match="not ascii"):
        encode("é", string_address(2))
    with pytest.raises(CodecError, match="not ascii"):
        decode([0xC3A9, 0], string_address(2))
    assert decode([0xC3A9, 0], string_address(2, encoding="utf-8")) == "é"


def test_values_keep_their_kind_after_engineering() -> None:
    number = Tag(name="n", address=address(DataType.UINT16), scale=0.5)
    flag = Tag(name="f", address=address(DataType.BOOL, bit=3))
    text = Tag(name="s", address=string_address(2))
    assert decode_engineering(number, [3]) == 1.5
    assert isinstance(decode_engineering(number, [4]), float)
    assert decode_engineering(flag, [0b1000]) is True
    assert decode_engineering(text, [0x4F4B, 0]) == "OK"
    assert encode_engineering(flag, True) == [0b1000]
    assert encode_engineering(text, "OK") == [0x4F4B, 0]


@pytest.mark.parametrize("data_type", [DataType.FLOAT32, DataType.FLOAT64])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_from_a_device_are_errors_not_values(
    data_type: DataType, bad: float
) -> None:
    tag = Tag(name="t", address=address(data_type))
    packed = struct.pack(">f" if data_type is DataType.FLOAT32 else ">d", bad)
    registers = list(struct.unpack(f">{len(packed) // 2}H", packed))
    with pytest.raises(CodecError, match="not a number"):
        decode_engineering(tag, registers)
    with pytest.raises(CodecError, match="not a number"):
        to_engineering(tag, bad)


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.INT16, 40000),
        (DataType.UINT16, -1),
        (DataType.UINT32, 2**32),
        (DataType.INT32, -(2**31) - 1),
        (DataType.INT64, 2**63),
        (DataType.UINT64, -1),
        (DataType.FLOAT32, 1e300),
        (DataType.INT16, "abc"),
    ],
)
def test_out_of_range_values_refuse_to_encode(data_type: DataType, value: float | str) -> None:
    with pytest.raises(CodecError, match="does not fit"):
        encode(value, address(data_type))


def test_wrong_register_count_and_out_of_range_register_are_errors() -> None:
    with pytest.raises(CodecError, match="needs 2 register"):
        decode([1], address(DataType.FLOAT32))
    with pytest.raises(CodecError, match="needs 4 register"):
        decode([1, 2], address(DataType.FLOAT64))
    with pytest.raises(CodecError, match="16-bit"):
        decode([0x10000], address(DataType.UINT16))


def test_scale_and_offset_apply_both_ways() -> None:
    tag = Tag(name="t", address=address(DataType.INT16), scale=0.1, offset=-40.0)
    registers = encode_engineering(tag, 21.5)
    assert registers == [615]
    assert decode_engineering(tag, registers) == pytest.approx(21.5)
