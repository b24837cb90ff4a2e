"""Pure Modbus codec: registers and bits <-> typed values, with byte and word order, no I/O."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from connectors.errors import CodecError
from models import DataType, Endian, ModbusAddress, Tag

Raw = int | float | bool | str
"""A value as the device holds it, before scale and offset."""

Value = float | bool | str
"""An engineering value: float for numbers, bool for bits, str for strings."""

_FORMATS: dict[DataType, str] = {
    DataType.BOOL: "H",
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.INT64: "q",
    DataType.UINT64: "Q",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
}
"""struct formats of the fixed-size types (a bool read from a register is the whole word)."""

_FLOATS = (DataType.FLOAT32, DataType.FLOAT64)
_PADDING = b"\x00 "


def _struct_order(order: Endian) -> str:
    return ">" if order is Endian.BIG else "<"


class Registers:
    """The registers of one response as bytes, in either register byte order (built once).

    Modbus Application Protocol v1.1b3 §4.2 sends each register high byte first. Reading a value
    from the buffer in big order when ``byte_order == word_order`` (little order otherwise) with
    a struct format in ``word_order`` undoes every combination of swapped bytes and words.
    """

    __slots__ = ("_big", "_little")

    def __init__(self, registers: Sequence[int]) -> None:
        try:
            self._big = struct.pack(f">{len(registers)}H", *registers)
        except struct.error as error:
            raise CodecError(f"registers must be 16-bit unsigned integers: {error}") from error
        self._little: bytes | None = None

    @classmethod
    def of_bytes(cls, data: bytes) -> Registers:
        """The registers whose bytes travelled as ``data`` (high byte first, §4.2)."""
        if len(data) % 2:
            raise CodecError(f"registers take two bytes each, got {len(data)} bytes")
        registers = cls.__new__(cls)
        registers._big, registers._little = data, None
        return registers

    def bytes_in(self, byte_order: Endian) -> bytes:
        """Every register's two bytes in ``byte_order``, registers in address order."""
        if byte_order is Endian.BIG:
            return self._big
        if self._little is None:
            count = len(self._big) // 2
            self._little = struct.pack(f"<{count}H", *struct.unpack(f">{count}H", self._big))
        return self._little


Payload = Registers | Sequence[bool]
"""What one read returns: registers, or the bits of a coil or discrete-input table."""


@dataclass(frozen=True, slots=True)
class FieldCodec:
    """How one address's raw value sits in a response; compiled once per address, used per poll."""

    address: ModbusAddress
    buffer_order: Endian
    fixed: struct.Struct | None
    """Format of a fixed-size type in ``buffer_order``'s buffer; None for strings."""
    as_registers: struct.Struct
    """Reads the field's bytes, as they sit in ``buffer_order``'s buffer, as register values."""
    integral: bool
    """An integer type: engineering values round to it."""

    @classmethod
    def of(cls, address: ModbusAddress) -> FieldCodec:
        """The codec of ``address`` (cached: addresses are immutable)."""
        return _field_codec(address)

    def decode_from(self, payload: Payload, start: int) -> Raw:
        """Raw value of the field whose first register (or bit) is ``start`` in ``payload``."""
        if not isinstance(payload, Registers):
            return bool(payload[start])
        data = payload.bytes_in(self.buffer_order)
        if self.fixed is None:
            return self._text(data[2 * start : 2 * (start + self.address.count)])
        value: int | float = self.fixed.unpack_from(data, 2 * start)[0]
        if self.address.data_type is DataType.BOOL:
            bit = self.address.bit
            return bool(int(value) >> bit & 1) if bit is not None else value != 0
        return value

    def _text(self, data: bytes) -> str:
        """A string field: trailing NULs and spaces stripped, then decoded."""
        encoding = self.address.encoding.value
        try:
            return data.rstrip(_PADDING).decode(encoding)
        except UnicodeDecodeError as error:
            raise CodecError(f"device text is not {encoding}: {error.reason}") from error

    def decode(self, entries: Sequence[int] | Sequence[bool]) -> Raw:
        """Raw value from exactly the field's registers (or its one bit)."""
        if len(entries) != self.address.count:
            raise CodecError(
                f"{self.address.data_type} needs {self.address.count} register(s), "
                f"got {len(entries)}"
            )
        if self.address.kind.is_bit_table:
            return self.decode_from([bool(entry) for entry in entries], 0)
        return self.decode_from(Registers([int(entry) for entry in entries]), 0)

    def encode(self, raw: Raw) -> list[int]:
        """The field's table entries for ``raw``: its registers, or [0]/[1] for a bit table."""
        if self.address.kind.is_bit_table:
            return [int(bool(raw))]
        data = self._text_bytes(str(raw)) if self.fixed is None else self._fixed_bytes(raw)
        return list(self.as_registers.unpack(data))

    def _fixed_bytes(self, raw: Raw) -> bytes:
        assert self.fixed is not None
        data_type = self.address.data_type
        try:
            if data_type is DataType.BOOL:
                return self.fixed.pack(self._word_of(bool(raw)))
            return self.fixed.pack(int(raw) if self.integral else raw)
        except (struct.error, OverflowError, ValueError) as error:
            raise CodecError(f"{raw!r} does not fit {data_type}: {error}") from error

    def _word_of(self, flag: bool) -> int:
        bit = self.address.bit
        return (1 << bit if bit is not None else 1) if flag else 0

    def _text_bytes(self, text: str) -> bytes:
        size = 2 * self.address.count
        encoding = self.address.encoding.value
        try:
            data = text.encode(encoding)
        except UnicodeEncodeError as error:
            raise CodecError(f"{text!r} is not {encoding}: {error.reason}") from error
        if len(data) > size:
            raise CodecError(f"{text!r} takes {len(data)} bytes; the tag holds {size}")
        return data.ljust(size, b"\x00")


@cache
def _field_codec(address: ModbusAddress) -> FieldCodec:
    same_order = address.byte_order is address.word_order
    buffer_order = Endian.BIG if same_order else Endian.LITTLE
    fmt = _FORMATS.get(address.data_type)
    fixed = struct.Struct(_struct_order(address.word_order) + fmt) if fmt else None
    as_registers = struct.Struct(f"{_struct_order(buffer_order)}{address.count}H")
    integral = address.data_type not in _FLOATS
    return FieldCodec(address, buffer_order, fixed, as_registers, integral)


@dataclass(frozen=True, slots=True)
class BlockCodec:
    """Every field of one register response decoded by a single ``struct`` unpack.

    Compiled once per planned read when its fields are fixed-size numbers (no bools, no text)
    that do not overlap and share one byte and word order; gaps become pad bytes.
    """

    buffer_order: Endian
    layout: struct.Struct

    @classmethod
    def of(cls, fields: Sequence[tuple[int, ModbusAddress]]) -> BlockCodec | None:
        """The block codec of ``(start, address)`` fields in ascending ``start``, or None when a
        field needs decoding on its own (bit tables, bools, strings, overlaps, mixed orders)."""
        if not fields:
            return None
        first = fields[0][1]
        if any(not _block_friendly(address, first) for _, address in fields):
            return None
        parts, position = [_struct_order(first.word_order)], 0
        for start, address in fields:
            if start < position:
                return None
            parts.append("x" * (2 * (start - position)) + _FORMATS[address.data_type])
            position = start + address.count
        return cls(FieldCodec.of(first).buffer_order, struct.Struct("".join(parts)))

    def unpack(self, registers: Registers) -> tuple[int | float, ...]:
        """The raw value of each field, in field order."""
        values: tuple[int | float, ...] = self.layout.unpack_from(
            registers.bytes_in(self.buffer_order)
        )
        return values


def _block_friendly(address: ModbusAddress, first: ModbusAddress) -> bool:
    return (
        not address.kind.is_bit_table
        and address.data_type in _FORMATS
        and address.data_type is not DataType.BOOL
        and address.byte_order is first.byte_order
        and address.word_order is first.word_order
    )


@dataclass(frozen=True, slots=True)
class TagCodec:
    """A tag's field codec plus its engineering conversion (raw × scale + offset)."""

    field: FieldCodec
    scale: float
    offset: float
    numeric: bool
    integral: bool

    @classmethod
    def of(cls, tag: Tag) -> TagCodec:
        """The codec of ``tag`` (cached: tags are immutable)."""
        return _tag_codec(tag)

    def engineering(self, raw: Raw) -> Value:
        """Numbers become ``float(raw) × scale + offset``; bools and strings stay as they are.

        NaN and infinity raise CodecError: they are a sensor failure, not a value.
        """
        if not self.numeric:
            return raw if isinstance(raw, str) else bool(raw)
        if isinstance(raw, float) and not math.isfinite(raw):
            raise CodecError(f"device value is {raw} (not a number)")
        return float(raw) * self.scale + self.offset

    def raw(self, value: Value) -> Raw:
        """Inverse of :meth:`engineering`, rounded for integer types."""
        if not self.numeric:
            return value
        raw = (float(value) - self.offset) / self.scale
        return round(raw) if self.integral else raw

    def decode_from(self, payload: Payload, start: int) -> Value:
        """Engineering value of the tag whose first register (or bit) is ``start``."""
        return self.engineering(self.field.decode_from(payload, start))


@cache
def _tag_codec(tag: Tag) -> TagCodec:
    field = FieldCodec.of(tag.address)
    numeric = tag.address.data_type.is_numeric
    return TagCodec(field, tag.scale, tag.offset, numeric=numeric, integral=field.integral)


def decode(entries: Sequence[int] | Sequence[bool], address: ModbusAddress) -> Raw:
    """Raw value of ``address``'s data type from exactly its registers (or its one bit)."""
    return FieldCodec.of(address).decode(entries)


def encode(value: Raw, address: ModbusAddress) -> list[int]:
    """Table entries holding ``value`` as ``address``'s data type; a misfit raises CodecError."""
    return FieldCodec.of(address).encode(value)


def to_engineering(tag: Tag, raw: Raw) -> Value:
    """Engineering value of a raw device value (see :meth:`TagCodec.engineering`)."""
    return TagCodec.of(tag).engineering(raw)


def from_engineering(tag: Tag, value: Value) -> Raw:
    """Raw value for an engineering value, rounded for integer types."""
    return TagCodec.of(tag).raw(value)


def encode_engineering(tag: Tag, value: Value) -> list[int]:
    """Table entries a device would hold for engineering value ``value`` of ``tag``."""
    return encode(from_engineering(tag, value), tag.address)


def decode_engineering(tag: Tag, entries: Sequence[int] | Sequence[bool]) -> Value:
    """Engineering value of ``tag`` from its registers (or its one bit)."""
    return to_engineering(tag, decode(entries, tag.address))
