"""Microseconds since the Unix epoch: the one time base of the historian stores and the spool."""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch of an aware timestamp (exact, no float rounding)."""
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def from_micros(micros: int) -> datetime:
    """Inverse of :func:`to_micros`, in UTC."""
    seconds, micro = divmod(micros, MICROS_PER_SECOND)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)


def seconds_to_micros(seconds: float) -> int:
    """A duration in seconds as whole microseconds."""
    return round(seconds * MICROS_PER_SECOND)
