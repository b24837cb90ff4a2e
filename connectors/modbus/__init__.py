"""Modbus TCP: the pure codec, read planner and poll schedule, and the polling connector."""

from connectors.modbus.codec import (
    FieldCodec,
    Registers,
    TagCodec,
    decode,
    decode_engineering,
    encode,
    encode_engineering,
)
from connectors.modbus.connector import ModbusConnector
from connectors.modbus.planner import (
    MAX_BITS_PER_READ,
    MAX_REGISTERS_PER_READ,
    ReadRequest,
    plan_reads,
)
from connectors.modbus.schedule import Pacer, PollSchedule

__all__ = [
    "MAX_BITS_PER_READ",
    "MAX_REGISTERS_PER_READ",
    "FieldCodec",
    "ModbusConnector",
    "Pacer",
    "PollSchedule",
    "ReadRequest",
    "Registers",
    "TagCodec",
    "decode",
    "decode_engineering",
    "encode",
    "encode_engineering",
    "plan_reads",
]
