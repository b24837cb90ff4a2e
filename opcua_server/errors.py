"""Errors of the northbound OPC UA server and the process around it."""

from __future__ import annotations

from models import TrustfloorError


class ServerError(TrustfloorError):
    """The OPC UA server could not be set up or run."""


class PasswordFormatError(ServerError):
    """A stored password hash is not in the format `trustfloor hash-password` writes."""
