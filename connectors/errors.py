"""Errors of the southbound connectors and historian sinks."""

from __future__ import annotations

from models import TrustfloorError


class ConnectorError(TrustfloorError):
    """A device or sink could not be used."""


class CodecError(ConnectorError):
    """Registers could not be decoded into a value, or a value encoded into registers."""


class HistorianError(ConnectorError):
    """The historian could not store or return readings."""
