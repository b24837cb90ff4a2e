"""Our Modbus connector against an independent device (npm modbus-serial): every type and order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from connectors.modbus import ModbusConnector
from models import Cause, Machine, Quality, Reading
from tests.integration.modbus_kit import noon_clock, poll
from tests.support import REPO

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.interop]

PEER = REPO / "tests" / "peers" / "modbus_serial_server.mjs"
UNIT_ID = 17
ORDERS = [("big", "big"), ("big", "little"), ("little", "big"), ("little", "little")]
NUMBERS: list[tuple[str, int | float | str, int]] = [
    # (type, value sent to the peer, registers); 64-bit integers travel as decimal strings
    ("int16", -12345, 1),
    ("uint16", 54321, 1),
    ("int32", -123456789, 2),
    ("uint32", 3456789012, 2),
    ("int64", "-1234567890123456789", 4),
    ("uint64", "12345678901234567890", 4),
    ("float32", 123.456, 2),
    ("float64", -9876.54321, 4),
]
STRINGS = [("ascii", "SN-4711", "big"), ("ascii", "SN-4711", "little"), ("utf-8", "Größe", "big")]
STATUS_BITS = {0: True, 1: False, 5: True, 15: True}
COILS = {0: True, 1: False, 2: True}
DISCRETE_INPUTS = {10: True, 11: False}
UNMAPPED = 5000


@dataclass(frozen=True)
class Field:
    """One value the peer serves and the tag that reads it back."""

    tag: dict[str, Any]
    peer: dict[str, Any] | None
    expected: float | bool | str | None


def number_fields(table: str, start: int) -> list[Field]:
    fields, address = [], start
    for data_type, value, count in NUMBERS:
        for byte_order, word_order in ORDERS:
            name = f"{table}_{data_type}_{byte_order}_{word_order}"
            orders = {"byte_order": byte_order, "word_order": word_order}
            tag = {
                "name": name,
                "address": {"kind": table, "address": address, "data_type": data_type} | orders,
            }
            peer = {
                "table": table,
                "address": address,
                "type": data_type,
                "value": value,
                "byteOrder": byte_order,
                "wordOrder": word_order,
            }
            fields.append(Field(tag, peer, float(value)))
            address += count
    return fields


def string_fields(start: int) -> list[Field]:
    fields = []
    for index, (encoding, text, byte_order) in enumerate(STRINGS):
        address = start + 4 * index
        name = f"text_{encoding.replace('-', '')}_{byte_order}"
        spec = {"address": address, "length": 4, "encoding": encoding, "byte_order": byte_order}
        tag = {"name": name, "address": {"data_type": "string"} | spec}
        peer = {
            "table": "holding",
            "address": address,
            "type": "string",
            "value": text,
            "length": 4,
            "encoding": encoding,
            "byteOrder": byte_order,
        }
        fields.append(Field(tag, peer, text))
    return fields


def bit_fields(address: int, byte_order: str) -> list[Field]:
    fields = []
    for bit, flag in STATUS_BITS.items():
        spec = {"address": address, "data_type": "bool", "bit": bit, "byte_order": byte_order}
        peer = {
            "table": "holding",
            "address": address,
            "type": "bool",
            "value": flag,
            "bit": bit,
            "byteOrder": byte_order,
        }
        fields.append(Field({"name": f"status_{byte_order}_{bit}", "address": spec}, peer, flag))
    return fields


def table_bit_fields(kind: str, values: dict[int, bool]) -> list[Field]:
    return [
        Field(
            {"name": f"{kind}_{a}", "address": {"kind": kind, "address": a, "data_type": "bool"}},
            None,
            flag,
        )
        for a, flag in values.items()
    ]


FIELDS = [
    *number_fields("holding", 0),
    *number_fields("input", 0),
    *string_fields(200),
    *bit_fields(300, "big"),
    *bit_fields(301, "little"),
    *table_bit_fields("coil", COILS),
    *table_bit_fields("discrete_input", DISCRETE_INPUTS),
]
MISSING = [
    Field({"name": "missing_register", "address": {"address": UNMAPPED}}, None, None),
    Field(
        {
            "name": "missing_coil",
            "address": {"kind": "coil", "address": UNMAPPED, "data_type": "bool"},
        },
        None,
        None,
    ),
]


def device_spec() -> dict[str, Any]:
    return {
        "unitId": UNIT_ID,
        "fields": [f.peer for f in FIELDS if f.peer is not None],
        "coils": {str(a): v for a, v in COILS.items()},
        "discreteInputs": {str(a): v for a, v in DISCRETE_INPUTS.items()},
    }


async def first_line(process: asyncio.subprocess.Process, timeout_s: float = 30.0) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(timeout_s):
        line = await process.stdout.readline()
    if not line:
        assert process.stderr is not None
        raise AssertionError(f"modbus-serial peer exited: {(await process.stderr.read()).decode()}")
    return line.decode()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def peer_port() -> AsyncIterator[int]:
    """The modbus-serial device, started on a free port on 127.0.0.1 and stopped after."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(PEER),
        json.dumps(device_spec()),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield int(json.loads(await first_line(process))["port"])
    finally:
        process.terminate()
        await process.wait()


def machine(port: int, fields: list[Field], **modbus: Any) -> Machine:
    endpoint = {"port": port, "unit_id": UNIT_ID, "timeout_s": 2.0} | modbus
    return Machine.model_validate(
        {"id": "peer", "modbus": endpoint, "tags": [f.tag for f in fields]}
    )


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def readings(peer_port: int) -> dict[str, Reading]:
    """One poll of every field, as the connector plans it (contiguous tags share requests)."""
    result, connected = await poll(machine(peer_port, FIELDS + MISSING))
    assert connected
    return result


@pytest.mark.parametrize("field", FIELDS, ids=[f.tag["name"] for f in FIELDS])
async def test_each_type_and_order_reads_back_what_the_peer_encoded(
    readings: dict[str, Reading], field: Field
) -> None:
    reading = readings[field.tag["name"]]
    assert reading.quality is Quality.GOOD, reading.reason
    assert type(reading.value) is type(field.expected)
    if field.tag["address"].get("data_type") == "float32":
        assert reading.value == pytest.approx(field.expected, rel=1e-6)
    else:
        assert reading.value == field.expected


async def test_an_unmapped_address_is_bad_with_exception_2(readings: dict[str, Reading]) -> None:
    for name in ("missing_register", "missing_coil"):
        assert readings[name].quality is Quality.BAD
        assert readings[name].cause is Cause.DEVICE_EXCEPTION
        assert readings[name].reason == "device exception 2 (illegal data address)"


async def test_a_merged_request_spans_the_whole_register_map(peer_port: int) -> None:
    holding = [f for f in FIELDS if f.tag["name"].startswith("holding_")]
    connector = ModbusConnector(machine(peer_port, holding), noon_clock())
    assert [(r.address, r.count) for r in connector.plan] == [(0, 80)]
    result, _ = await poll(machine(peer_port, holding, request_pacing_s=0.01))
    assert all(r.quality is Quality.GOOD for r in result.values())
