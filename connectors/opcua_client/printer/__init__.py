"""The OPC UA printer driver: job orders, state, feedstock and process values by mapping."""

from connectors.opcua_client.printer.driver import OpcUaPrinterControl
from connectors.opcua_client.printer.errors import (
    MappedNodeMissingError,
    PrinterLinkError,
    PrinterRefusedError,
    PrinterUnreachableError,
)
from connectors.opcua_client.printer.probe import ProbeReport, probe_printer
from connectors.opcua_client.printer.probe import render_toml as render_probe

__all__ = [
    "MappedNodeMissingError",
    "OpcUaPrinterControl",
    "PrinterLinkError",
    "PrinterRefusedError",
    "PrinterUnreachableError",
    "ProbeReport",
    "probe_printer",
    "render_probe",
]
