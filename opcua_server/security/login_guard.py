"""Login throttling: a backoff after each failure, a lockout after repeated failures (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from config import ServerSettings
from models import Clock

MAX_TRACKED = 10_000
"""Users and addresses remembered before expired entries are dropped."""


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """How failed logins are slowed down and when a user is locked out."""

    backoff_s: float = 1.0
    max_failures: int = 5
    failure_window_s: float = 60.0
    lockout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> LoginPolicy:
        return cls(
            backoff_s=settings.login_backoff_s,
            max_failures=settings.login_max_failures,
            failure_window_s=settings.login_failure_window_s,
            lockout_s=settings.login_lockout_s,
        )


class LoginGuard:
    """Remembers failed logins per user name and per peer address, on an injected clock.

    Unknown names are tracked like known ones, so locking out tells nothing about who exists.
    """

    def __init__(self, policy: LoginPolicy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock
        self._failures: dict[str, deque[datetime]] = {}
        self._last_failure: dict[tuple[str, str], datetime] = {}
        self._locked_until: dict[str, datetime] = {}

    def wait_s(self, user: str, peer: str) -> float:
        """Seconds the next attempt of ``user`` from ``peer`` waits: what is left of the backoff
        after the latest failure of that user or from that address (never more than it)."""
        keys = (("user", user), ("peer", peer))
        latest = [at for key in keys if (at := self._last_failure.get(key)) is not None]
        if not latest:
            return 0.0
        elapsed = (self.clock.now() - max(latest)).total_seconds()
        return min(self.policy.backoff_s, max(0.0, self.policy.backoff_s - elapsed))

    def is_locked(self, user: str) -> bool:
        """Whether ``user`` is locked out now."""
        until = self._locked_until.get(user)
        if until is None:
            return False
        if self.clock.now() < until:
            return True
        del self._locked_until[user]
        return False

    def record_failure(self, user: str, peer: str) -> bool:
        """Count a failed login; True when it locks ``user`` out (once per lockout)."""
        now = self.clock.now()
        self._forget_expired(now)
        self._last_failure[("user", user)] = now
        self._last_failure[("peer", peer)] = now
        if self.is_locked(user):
            return False
        failures = self._failures.setdefault(user, deque())
        failures.append(now)
        window_start = now - timedelta(seconds=self.policy.failure_window_s)
        while failures and failures[0] <= window_start:
            failures.popleft()
        if len(failures) < self.policy.max_failures:
            return False
        del self._failures[user]
        self._locked_until[user] = now + timedelta(seconds=self.policy.lockout_s)
        return True

    def record_success(self, user: str, peer: str) -> None:
        """A good login forgets the user's failures (the address keeps its backoff)."""
        self._failures.pop(user, None)
        self._last_failure.pop(("user", user), None)

    def _forget_expired(self, now: datetime) -> None:
        """Keep memory bounded: drop what no longer affects any decision once it grows large."""
        if len(self._failures) + len(self._last_failure) + len(self._locked_until) < MAX_TRACKED:
            return
        window_start = now - timedelta(seconds=self.policy.failure_window_s)
        backoff_start = now - timedelta(seconds=self.policy.backoff_s)
        self._failures = {u: f for u, f in self._failures.items() if f and f[-1] > window_start}
        self._last_failure = {k: t for k, t in self._last_failure.items() if t > backoff_start}
        self._locked_until = {u: t for u, t in self._locked_until.items() if t > now}
