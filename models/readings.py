"""Readings: one sample of one tag with its timestamp and quality."""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, field_validator


class Quality(StrEnum):
    """OPC UA style quality of a reading (OPC 10000-4 §7.39 severity bits)."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


class Cause(StrEnum):
    """Why a reading is not Good; the OPC UA server maps each to a status code."""

    NONE = "none"
    COMMUNICATION = "communication"
    DEVICE_EXCEPTION = "device_exception"
    INVALID_VALUE = "invalid_value"
    OUT_OF_RANGE = "out_of_range"


class Reading(BaseModel):
    """One sample of one tag; a Bad reading carries ``value=None`` and says why in ``reason``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    machine: str
    tag: str
    source_ts: datetime
    value: float | int | bool | str | None
    quality: Quality = Quality.GOOD
    cause: Cause = Cause.NONE
    reason: str = ""

    @field_validator("source_ts")
    @classmethod
    def _timezone_aware(cls, ts: datetime) -> datetime:
        if ts.tzinfo is None:
            raise ValueError("source_ts must be timezone-aware (UTC)")
        return ts

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | int | bool | str | None) -> float | int | bool | str | None:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("value must be finite; report NaN/inf as a Bad reading")
        return value

    @property
    def key(self) -> str:
        """``machine/tag``: the reading's point identity across stores."""
        return f"{self.machine}/{self.tag}"


def trusted_reading(
    machine: str,
    tag: str,
    ts: datetime,
    value: float | int | bool | str | None,
    quality: Quality,
    cause: Cause,
    reason: str,
) -> Reading:
    """A reading from already-decoded data: built without re-validation on the hot path."""
    return Reading.model_construct(
        machine=machine,
        tag=tag,
        source_ts=ts,
        value=value,
        quality=quality,
        cause=cause,
        reason=reason,
    )


def good(machine: str, tag: str, ts: datetime, value: float | int | bool | str) -> Reading:
    """A Good reading."""
    return trusted_reading(machine, tag, ts, value, Quality.GOOD, Cause.NONE, "")


def uncertain(
    machine: str, tag: str, ts: datetime, value: float, cause: Cause, reason: str
) -> Reading:
    """An Uncertain reading: a value exists but should not be trusted, and ``reason`` says why."""
    return trusted_reading(machine, tag, ts, value, Quality.UNCERTAIN, cause, reason)


def bad(machine: str, tag: str, ts: datetime, cause: Cause, reason: str) -> Reading:
    """A Bad reading: the value could not be obtained, and ``reason`` says why."""
    return trusted_reading(machine, tag, ts, None, Quality.BAD, cause, reason)
