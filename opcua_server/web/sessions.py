"""Web sessions and form tokens: who is signed in, until when, on an injected clock (pure)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from config import Role
from models import Clock

MAX_SESSIONS = 10_000
"""Sessions kept at once; the least recently used one is dropped beyond it."""


def new_token() -> str:
    """A random token for a session cookie or a form (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Whether ``given`` is ``expected``, compared in constant time; False if either is absent."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(slots=True)
class WebSession:
    """One signed-in browser: its user and role, its form token, when it was last used."""

    token: str
    user: str
    role: Role
    csrf: str
    last_seen: datetime


class SessionStore:
    """Sessions by cookie token; one unused for ``idle_s`` seconds is over."""

    def __init__(self, idle_s: float, clock: Clock, max_sessions: int = MAX_SESSIONS) -> None:
        self.idle = timedelta(seconds=idle_s)
        self.clock = clock
        self.max_sessions = max_sessions
        self._sessions: dict[str, WebSession] = {}

    def open(self, user: str, role: Role) -> WebSession:
        """A new session for ``user`` (a new token: a login never reuses a cookie)."""
        self._drop_idle()
        while len(self._sessions) >= self.max_sessions:
            oldest = min(self._sessions.values(), key=lambda s: s.last_seen)
            del self._sessions[oldest.token]
        session = WebSession(new_token(), user, role, new_token(), self.clock.now())
        self._sessions[session.token] = session
        return session

    def find(self, token: str | None) -> WebSession | None:
        """The live session of ``token``, now marked used; None if unknown or idle too long."""
        session = self._sessions.get(token) if token else None
        if session is None:
            return None
        now = self.clock.now()
        if now - session.last_seen >= self.idle:
            del self._sessions[session.token]
            return None
        session.last_seen = now
        return session

    def close(self, token: str | None) -> None:
        """Sign out: the token is no longer a session."""
        if token:
            self._sessions.pop(token, None)

    def __len__(self) -> int:
        return len(self._sessions)

    def _drop_idle(self) -> None:
        now = self.clock.now()
        idle = [t for t, s in self._sessions.items() if now - s.last_seen >= self.idle]
        for token in idle:
            del self._sessions[token]
