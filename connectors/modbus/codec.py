"""Pure register codec: Modbus 16-bit registers <-> typed values, with byte and word order."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Literal

from connectors.errors import CodecError
from models import DataType, Endian, ModbusAddress, Tag

_FORMATS: dict[DataType, str] = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.FLOAT32: ">f",
}


def _byteorder(order: Endian) -> Literal["big", "little"]:
    return "big" if order is Endian.BIG else "little"


def registers_to_bytes(registers: Sequence[int], byte_order: Endian, word_order: Endian) -> bytes:
    """Big-endian byte string of a value spread over registers.

    Modbus Application Protocol v1.1b3 §4.2 sends each register high byte first; devices that
    store multi-register values low word first, or swap bytes inside a register, are undone here.
    """
    words = list(registers)
    if word_order is Endian.LITTLE:
        words.reverse()
    register_byteorder = _byteorder(byte_order)
    out = bytearray()
    for word in words:
        if not 0 <= word <= 0xFFFF:
            raise CodecError(f"register value {word} is not a 16-bit unsigned integer")
        out += word.to_bytes(2, register_byteorder)
    return bytes(out)


def bytes_to_registers(data: bytes, byte_order: Endian, word_order: Endian) -> list[int]:
    """Inverse of :func:`registers_to_bytes`."""
    register_byteorder = _byteorder(byte_order)
    words = [int.from_bytes(data[i : i + 2], register_byteorder) for i in range(0, len(data), 2)]
    if word_order is Endian.LITTLE:
        words.reverse()
    return words


def decode(registers: Sequence[int], address: ModbusAddress) -> int | float:
    """Raw value of ``address``'s data type from exactly its register count."""
    if len(registers) != address.count:
        raise CodecError(
            f"{address.data_type} needs {address.count} register(s), got {len(registers)}"
        )
    data = registers_to_bytes(registers, address.byte_order, address.word_order)
    value: int | float = struct.unpack(_FORMATS[address.data_type], data)[0]
    return value


def encode(value: int | float, address: ModbusAddress) -> list[int]:
    """Registers holding ``value`` as ``address``'s data type; out-of-range raises CodecError."""
    fmt = _FORMATS[address.data_type]
    try:
        data = struct.pack(fmt, value if address.data_type is DataType.FLOAT32 else int(value))
    except (struct.error, OverflowError, ValueError) as error:
        raise CodecError(f"{value!r} does not fit {address.data_type}: {error}") from error
    return bytes_to_registers(data, address.byte_order, address.word_order)


def to_engineering(tag: Tag, raw: int | float) -> float:
    """Engineering value = raw × scale + offset; NaN and infinity raise CodecError."""
    if isinstance(raw, float) and not math.isfinite(raw):
        raise CodecError(f"device value is {raw} (not a number)")
    return float(raw) * tag.scale + tag.offset


def from_engineering(tag: Tag, value: float) -> int | float:
    """Raw value for an engineering value, rounded for integer types."""
    raw = (value - tag.offset) / tag.scale
    return raw if tag.address.data_type is DataType.FLOAT32 else round(raw)


def encode_engineering(tag: Tag, value: float) -> list[int]:
    """Registers a device would hold for engineering value ``value`` of ``tag``."""
    return encode(from_engineering(tag, value), tag.address)


def decode_engineering(tag: Tag, registers: Sequence[int]) -> float:
    """Engineering value of ``tag`` from its registers."""
    return to_engineering(tag, decode(registers, tag.address))
