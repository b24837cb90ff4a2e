"""Southbound device I/O (Modbus TCP, OPC UA client, simulated devices) and historian sinks."""

from connectors.errors import CodecError, ConnectorError, HistorianError
from connectors.historian import SqliteHistorian
from connectors.modbus import ModbusConnector
from connectors.opcua_client import OpcUaConnector
from connectors.simulated import SimulatedMachine, SimulatedPrinter, SimulatedSite

__all__ = [
    "CodecError",
    "ConnectorError",
    "HistorianError",
    "ModbusConnector",
    "OpcUaConnector",
    "SimulatedMachine",
    "SimulatedPrinter",
    "SimulatedSite",
    "SqliteHistorian",
]
