"""Modbus TCP: the pure register codec and read planner, and the polling connector."""

from connectors.modbus.codec import decode, decode_engineering, encode, encode_engineering
from connectors.modbus.connector import Backoff, ModbusConnector
from connectors.modbus.planner import MAX_REGISTERS_PER_READ, ReadRequest, plan_reads

__all__ = [
    "MAX_REGISTERS_PER_READ",
    "Backoff",
    "ModbusConnector",
    "ReadRequest",
    "decode",
    "decode_engineering",
    "encode",
    "encode_engineering",
    "plan_reads",
]
