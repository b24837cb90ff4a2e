"""Whole-response decoding gives exactly the readings that field-by-field decoding gives."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.modbus.codec import BlockCodec, Registers
from connectors.modbus.connector import plan_groups
from models import DataType, Endian, Machine, ModbusAddress, Quality

NUMBERS = [
    DataType.INT16,
    DataType.UINT16,
    DataType.INT32,
    DataType.UINT32,
    DataType.INT64,
    DataType.UINT64,
    DataType.FLOAT32,
    DataType.FLOAT64,
]
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@st.composite
def machines(draw: st.DrawFn) -> Machine:
    """A machine of numeric tags in one order, with gaps, scales, offsets and ranges."""
    byte_order, word_order = (
        draw(st.sampled_from(list(Endian))),
        draw(st.sampled_from(list(Endian))),
    )
    tags, address = [], draw(st.integers(0, 5))
    for number in range(draw(st.integers(1, 12))):
        data_type = draw(st.sampled_from(NUMBERS))
        low = draw(st.none() | st.floats(-1e6, 0))
        spec = {
            "name": f"t{number}",
            "address": {
                "address": address,
                "data_type": data_type,
                "byte_order": byte_order,
                "word_order": word_order,
            },
            "scale": draw(st.sampled_from([1.0, 0.1, -2.5])),
            "offset": draw(st.sampled_from([0.0, 3.0])),
            "eu_low": low,
            "eu_high": draw(st.none() | st.floats(1, 1e6)),
        }
        tags.append(spec)
        address += data_type.register_count + draw(st.integers(0, 2))
    return Machine.model_validate({"id": "m1", "modbus": {"port": 502, "max_gap": 4}, "tags": tags})


@settings(max_examples=300, deadline=None)
@given(machines(), st.data())
def test_block_decode_equals_field_by_field(machine: Machine, data: st.DataObject) -> None:
    for read in plan_groups(machine)[None]:
        assert read.block is not None
        registers = data.draw(
            st.lists(
                st.integers(0, 0xFFFF), min_size=read.request.count, max_size=read.request.count
            )
        )
        payload = Registers(registers)
        one_by_one = [f.reading(payload, NOW) for f in read.fields]
        assert read.readings(payload, NOW) == one_by_one


def test_nan_infinity_and_out_of_range_keep_their_quality() -> None:
    machine = Machine.model_validate(
        {
            "id": "m1",
            "modbus": {"port": 502},
            "tags": [
                {
                    "name": f"t{n}",
                    "address": {"address": 2 * n, "data_type": "float32"},
                    "eu_low": 0.0,
                    "eu_high": 10.0,
                }
                for n in range(4)
            ],
        }
    )
    (read,) = plan_groups(machine)[None]
    words = struct.unpack(">8H", struct.pack(">4f", 5.0, float("nan"), float("inf"), 11.0))
    readings = read.readings(Registers(words), NOW)
    assert [r.quality for r in readings] == [
        Quality.GOOD,
        Quality.BAD,
        Quality.BAD,
        Quality.UNCERTAIN,
    ]
    assert readings[0].value == 5.0
    assert readings[0].model_fields_set == readings[1].model_fields_set


def test_bits_strings_and_overlaps_decode_field_by_field() -> None:
    word = ModbusAddress(address=0, data_type=DataType.UINT16)
    bit = ModbusAddress(address=0, data_type=DataType.BOOL, bit=3)
    text = ModbusAddress(address=1, data_type=DataType.STRING, length=2)
    assert BlockCodec.of([(0, word)]) is not None
    assert BlockCodec.of([(0, word), (0, bit)]) is None
    assert BlockCodec.of([(0, word), (1, text)]) is None
    mixed = ModbusAddress(address=1, data_type=DataType.UINT16, byte_order=Endian.LITTLE)
    assert BlockCodec.of([(0, word), (1, mixed)]) is None
