"""Southbound device I/O (Modbus TCP, OPC UA client, simulated devices) and historian sinks."""

from connectors.errors import ConnectorError
from connectors.historian import InfluxSink, InfluxSinkStats, SpoolFullError, SqliteHistorian
from connectors.modbus import ModbusConnector
from connectors.opcua_client import OpcUaConnector
from connectors.resilience import LogOnce, guarded
from connectors.simulated import SimulatedMachine, SimulatedSite, printer_controls

__all__ = [
    "ConnectorError",
    "InfluxSink",
    "InfluxSinkStats",
    "LogOnce",
    "ModbusConnector",
    "OpcUaConnector",
    "SimulatedMachine",
    "SimulatedSite",
    "SpoolFullError",
    "SqliteHistorian",
    "guarded",
    "printer_controls",
]
