"""Southbound device I/O (Modbus TCP, OPC UA client, simulated devices) and historian sinks."""

from connectors.errors import ConnectorError
from connectors.historian import InfluxSink, InfluxSinkStats, SpoolFullError, SqliteHistorian
from connectors.modbus import ModbusConnector
from connectors.opcua_client import OpcUaConnector
from connectors.opcua_client.printer import (
    OpcUaPrinterControl,
    PrinterLinkError,
    probe_printer,
    render_probe,
)
from connectors.resilience import LogOnce, guarded
from connectors.simulated import (
    SimulatedMachine,
    SimulatedSite,
    with_simulator_passwords,
)

__all__ = [
    "ConnectorError",
    "InfluxSink",
    "InfluxSinkStats",
    "LogOnce",
    "ModbusConnector",
    "OpcUaConnector",
    "OpcUaPrinterControl",
    "PrinterLinkError",
    "SimulatedMachine",
    "SimulatedSite",
    "SpoolFullError",
    "SqliteHistorian",
    "guarded",
    "probe_printer",
    "render_probe",
    "with_simulator_passwords",
]
