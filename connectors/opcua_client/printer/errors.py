"""Errors of the OPC UA printer driver: unreachable printer, missing mapped node, refusals."""

from __future__ import annotations

from connectors.opcua_client.errors import OpcUaClientError
from models import InvalidStateError


class PrinterLinkError(OpcUaClientError):
    """A printer cannot be driven over OPC UA as configured or mapped."""


class PrinterUnreachableError(PrinterLinkError):
    """The printer's OPC UA server does not answer now (the driver keeps reconnecting)."""


class MappedNodeMissingError(PrinterLinkError):
    """A node or method the printer's mapping names is not on the printer."""

    def __init__(self, message: str, *, missing: dict[str, str], advice: str = "") -> None:
        super().__init__(message, advice=advice)
        self.missing = missing
        """What is missing, by mapping key: the path segment or node id not found."""


class PrinterRefusedError(PrinterLinkError, InvalidStateError):
    """The printer refused a job order call; the message carries its reason."""
