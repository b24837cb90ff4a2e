"""Southbound device I/O (Modbus TCP, OPC UA client, simulated devices) and historian sinks."""

from importlib import import_module
from typing import TYPE_CHECKING

from connectors.errors import ConnectorError
from connectors.historian import SpoolFullError, SqliteHistorian
from connectors.modbus import ModbusConnector
from connectors.opcua_client import OpcUaConnector
from connectors.opcua_client.printer import (
    OpcUaPrinterControl,
    PrinterLinkError,
    probe_printer,
    render_probe,
)
from connectors.resilience import LogOnce, guarded
from connectors.simulated import SimulatedSite, with_simulator_passwords

if TYPE_CHECKING:
    from connectors.historian import InfluxSink, InfluxSinkStats
    from connectors.simulated import SimulatedMachine

_LOADED_ON_USE = {
    "InfluxSink": "connectors.historian",
    "InfluxSinkStats": "connectors.historian",
    "SimulatedMachine": "connectors.simulated",
}
"""Names whose modules load influxdb_client or pymodbus: imported when a site uses them."""

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


def __getattr__(name: str) -> object:
    """Import a name of ``_LOADED_ON_USE`` from its module when it is first asked for."""
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module), name)
