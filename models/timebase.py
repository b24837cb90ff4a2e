"""Time in one place: microseconds since the Unix epoch, and a clock moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROS_PER_SECOND = 1_000_000
_ONE_MICROSECOND = timedelta(microseconds=1)


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch of an aware timestamp (exact, no float rounding)."""
    return (ts - EPOCH) // _ONE_MICROSECOND


def from_micros(micros: int) -> datetime:
    """The aware UTC timestamp ``micros`` microseconds after the Unix epoch (inverse of
    :func:`to_micros`)."""
    return EPOCH + timedelta(microseconds=micros)


def seconds_to_micros(seconds: float) -> int:
    """A duration in seconds as whole microseconds."""
    return round(seconds * MICROS_PER_SECOND)


class ManualClock:
    """A clock moved by hand (a ``models.ports.Clock``): tests, and offline runs that go faster
    than real time.

    With a ``tick``, every :meth:`now` answers the current time and then moves the clock on by
    that much, so successive readings get ordered, repeatable timestamps.
    """

    def __init__(self, start: datetime | None = None, *, tick: timedelta = timedelta(0)) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        if tick < timedelta(0):
            raise ValueError("a clock only moves forward")
        self._tick = tick

    def now(self) -> datetime:
        current = self._now
        self._now += self._tick
        return current

    def peek(self) -> datetime:
        """The time :meth:`now` will answer next, without moving the clock."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, at: datetime) -> None:
        """Jump forward to ``at``."""
        self.advance((at - self._now).total_seconds())
