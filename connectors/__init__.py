"""Southbound device I/O (Modbus TCP, simulated devices) and historian sinks."""

from connectors.errors import CodecError, ConnectorError, HistorianError
from connectors.historian import SqliteHistorian
from connectors.modbus import ModbusConnector
from connectors.simulated import SimulatedMachine

__all__ = [
    "CodecError",
    "ConnectorError",
    "HistorianError",
    "ModbusConnector",
    "SimulatedMachine",
    "SqliteHistorian",
]
