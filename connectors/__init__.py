"""Southbound device I/O (Modbus TCP, OPC UA client, simulated devices) and historian sinks."""

from connectors.errors import CodecError, ConnectorError, HistorianError
from connectors.historian import SqliteHistorian
from connectors.modbus import ModbusConnector
from connectors.opcua_client import OpcUaConnector
from connectors.resilience import Backoff, LogOnce, guarded
from connectors.simulated import SimulatedMachine, SimulatedSite

__all__ = [
    "Backoff",
    "CodecError",
    "ConnectorError",
    "HistorianError",
    "LogOnce",
    "ModbusConnector",
    "OpcUaConnector",
    "SimulatedMachine",
    "SimulatedSite",
    "SqliteHistorian",
    "guarded",
]
