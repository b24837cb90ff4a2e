"""Domain kernel: the typed records and protocols every trustfloor package shares."""

from models.errors import TrustfloorError
from models.machines import (
    DataType,
    Endian,
    Frozen,
    Identifier,
    Machine,
    ModbusAddress,
    ModbusEndpoint,
    RegisterKind,
    Tag,
)
from models.ports import Clock, Connector, Historian, ReadingSink, SystemClock
from models.readings import Cause, Quality, Reading, bad, good, uncertain

__all__ = [
    "Cause",
    "Clock",
    "Connector",
    "DataType",
    "Endian",
    "Frozen",
    "Historian",
    "Identifier",
    "Machine",
    "ModbusAddress",
    "ModbusEndpoint",
    "Quality",
    "Reading",
    "ReadingSink",
    "RegisterKind",
    "SystemClock",
    "Tag",
    "TrustfloorError",
    "bad",
    "good",
    "uncertain",
]
