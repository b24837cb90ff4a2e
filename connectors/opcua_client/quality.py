"""Pure mapping of OPC UA DataValues to readings: status code → quality and cause, value checks."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import Enum

from asyncua import ua

from models import Cause, OpcUaTag, Quality, Reading, trusted_reading

Plain = float | int | bool | str
"""The value types a reading carries."""

_COMMUNICATION = frozenset(
    {
        ua.StatusCodes.BadCommunicationError,
        ua.StatusCodes.BadConnectionClosed,
        ua.StatusCodes.BadNoCommunication,
        ua.StatusCodes.BadNotConnected,
        ua.StatusCodes.BadSecureChannelClosed,
        ua.StatusCodes.BadServerHalted,
        ua.StatusCodes.BadServerNotConnected,
        ua.StatusCodes.BadSessionClosed,
        ua.StatusCodes.BadShutdown,
        ua.StatusCodes.BadTimeout,
        ua.StatusCodes.BadWaitingForInitialData,
        ua.StatusCodes.UncertainNoCommunicationLastUsableValue,
    }
)
"""Codes that say the value did not reach the server (or us): the link, not the sensor."""

_SEVERITY_NAMES = frozenset({"Good", "Uncertain", "Bad"})
_SEVERITY_CODES = frozenset({ua.StatusCodes.Good, ua.StatusCodes.Uncertain, ua.StatusCodes.Bad})

_OUT_OF_RANGE = frozenset(
    {ua.StatusCodes.BadOutOfRange, ua.StatusCodes.UncertainEngineeringUnitsExceeded}
)


def status_name(code: int) -> str:
    """The symbolic name of a status code (``BadSensorFailure``), ignoring its info bits.

    A code the table does not know is named by its severity and hex value (``Bad (0x80FE0000)``).
    """
    base = code & 0xFFFF0000
    try:
        name = str(ua.StatusCode(base).name)
    except (KeyError, ValueError, AttributeError):
        name = ""
    if name in _SEVERITY_NAMES and base not in _SEVERITY_CODES:
        name = f"{name} (0x{code:08X})"
    return name or f"0x{code:08X}"


def quality_of(code: int) -> Quality:
    """Severity bits 30–31 of a status code (OPC 10000-4 §7.39): 00 Good, 01 Uncertain, 1x Bad."""
    severity = (code >> 30) & 0b11
    if severity == 0:
        return Quality.GOOD
    return Quality.UNCERTAIN if severity == 1 else Quality.BAD


def cause_of(code: int) -> Cause:
    """Why a value with status ``code`` is not Good; the device's own verdict otherwise."""
    if quality_of(code) is Quality.GOOD:
        return Cause.NONE
    base = code & 0xFFFF0000
    if base in _COMMUNICATION:
        return Cause.COMMUNICATION
    if base in _OUT_OF_RANGE:
        return Cause.OUT_OF_RANGE
    return Cause.DEVICE_EXCEPTION


def plain_value(value: object) -> Plain:
    """A Variant's scalar value as a reading value; ValueError for what a reading cannot carry."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return value
    if isinstance(value, ua.LocalizedText) and value.Text is not None:
        return str(value.Text)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return int(value.value)
    if value is None:
        raise ValueError("the server sent no value")
    raise ValueError(f"a {type(value).__name__} value is not a scalar trustfloor stores")


def timestamp_of(data: ua.DataValue, fallback: datetime) -> datetime:
    """Source timestamp, else server timestamp, else ``fallback``; always timezone-aware (UTC)."""
    ts = data.SourceTimestamp or data.ServerTimestamp or fallback
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def reading_of(machine: str, tag: OpcUaTag, data: ua.DataValue, now: datetime) -> Reading:
    """The reading for one DataValue of ``tag``: quality from its status, then range checks."""
    code = data.StatusCode.value if data.StatusCode is not None else ua.StatusCodes.Good
    ts = timestamp_of(data, now)
    quality = quality_of(code)
    if quality is Quality.BAD:
        return trusted_reading(
            machine, tag.name, ts, None, quality, cause_of(code), status_name(code)
        )
    try:
        value = plain_value(data.Value.Value if data.Value is not None else None)
    except ValueError as error:
        return trusted_reading(
            machine, tag.name, ts, None, Quality.BAD, Cause.INVALID_VALUE, str(error)
        )
    if quality is Quality.UNCERTAIN:
        return trusted_reading(
            machine, tag.name, ts, value, quality, cause_of(code), status_name(code)
        )
    return _range_checked(machine, tag, ts, value)


def _range_checked(machine: str, tag: OpcUaTag, ts: datetime, value: Plain) -> Reading:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if tag.eu_high is not None and value > tag.eu_high:
            reason = f"{value:g} is above the engineering range (max {tag.eu_high:g})"
            return trusted_reading(
                machine, tag.name, ts, value, Quality.UNCERTAIN, Cause.OUT_OF_RANGE, reason
            )
        if tag.eu_low is not None and value < tag.eu_low:
            reason = f"{value:g} is below the engineering range (min {tag.eu_low:g})"
            return trusted_reading(
                machine, tag.name, ts, value, Quality.UNCERTAIN, Cause.OUT_OF_RANGE, reason
            )
    return trusted_reading(machine, tag.name, ts, value, Quality.GOOD, Cause.NONE, "")
