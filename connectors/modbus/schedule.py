"""Pure timing of one device's polls: when each poll group is due, and pacing between requests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

GroupKey = str | None
"""A poll group's name; None is the endpoint's own ``poll_interval_s``."""


class PollSchedule:
    """When each poll group is next due, on a monotonic clock in seconds.

    Fixed rate: a group is due ``interval`` after it was last due. A poll that overruns its
    interval makes the group due at once, never several times over (no backlog of missed polls).
    """

    def __init__(self, intervals: Mapping[GroupKey, float], start: float) -> None:
        if not intervals or min(intervals.values()) <= 0:
            raise ValueError("requires at least one group and every interval > 0")
        self._intervals = dict(intervals)
        self._due = dict.fromkeys(intervals, start)

    def due(self, now: float) -> list[GroupKey]:
        """Groups whose time has come, in the order they were given."""
        return [group for group, at in self._due.items() if at <= now]

    def polled(self, groups: Iterable[GroupKey], now: float) -> None:
        """``groups`` were polled; each becomes due one interval after it was due."""
        for group in groups:
            following = self._due[group] + self._intervals[group]
            self._due[group] = max(following, now)

    def postpone(self, until: float) -> None:
        """No group is due before ``until`` (the device is down and backing off)."""
        for group, at in self._due.items():
            self._due[group] = max(at, until)

    def next_due(self) -> float:
        """The earliest time any group is due."""
        return min(self._due.values())


class Pacer:
    """Keeps at least ``gap_s`` between the end of one request and the start of the next.

    Slow devices and serial gateways drop requests that follow each other too closely.
    """

    def __init__(self, gap_s: float) -> None:
        if gap_s < 0:
            raise ValueError(f"requires gap_s >= 0, got {gap_s}")
        self.gap_s = gap_s
        self._last_done: float | None = None

    def delay(self, now: float) -> float:
        """Seconds to wait at ``now`` before the next request may start."""
        if self._last_done is None:
            return 0.0
        return max(0.0, self._last_done + self.gap_s - now)

    def done(self, now: float) -> None:
        """A request finished (answered, refused or failed) at ``now``."""
        self._last_done = now
