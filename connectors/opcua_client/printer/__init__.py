"""The OPC UA printer driver: job orders, state, feedstock and process values by mapping."""

from connectors.opcua_client.printer.driver import OpcUaPrinterControl
from connectors.opcua_client.printer.errors import (
    MappedNodeMissingError,
    PrinterLinkError,
    PrinterRefusedError,
    PrinterUnreachableError,
)

__all__ = [
    "MappedNodeMissingError",
    "OpcUaPrinterControl",
    "PrinterLinkError",
    "PrinterRefusedError",
    "PrinterUnreachableError",
]
