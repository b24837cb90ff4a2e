"""A sliding one-minute request budget per address, on an injected clock (pure)."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from models import Clock

WINDOW = timedelta(minutes=1)
MAX_TRACKED = 10_000
"""Addresses remembered before those with no request in the window are forgotten."""


class RateLimiter:
    """Allows ``per_minute`` requests from one address in any minute."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[datetime]] = {}

    def allow(self, address: str) -> bool:
        """Count a request from ``address``; False (not counted) when its budget is spent."""
        now = self.clock.now()
        if len(self._seen) >= MAX_TRACKED:
            self._forget_quiet(now)
        times = self._seen.setdefault(address, deque())
        while times and times[0] <= now - WINDOW:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True

    def _forget_quiet(self, now: datetime) -> None:
        self._seen = {a: t for a, t in self._seen.items() if t and t[-1] > now - WINDOW}
