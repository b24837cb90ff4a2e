"""Errors of the OPC UA client connector."""

from __future__ import annotations

from connectors.errors import ConnectorError


class OpcUaClientError(ConnectorError):
    """An OPC UA machine cannot be used as configured (a missing secret, no PKI folder)."""


class OpcUaWriteError(OpcUaClientError):
    """A value could not be written to a machine's node; the message says what refused it."""
