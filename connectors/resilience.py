"""Resilience shared by every connector and periodic job: backoff, log-once, guarded jobs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field

from models import TrustfloorError


@dataclass(slots=True)
class Backoff:
    """Exponential backoff between reconnect attempts: initial, ×2 each time, capped."""

    initial_s: float = 0.5
    max_s: float = 30.0
    _next: float = field(default=0.0, init=False)

    def next_delay(self) -> float:
        self._next = self.initial_s if self._next == 0.0 else min(self._next * 2, self.max_s)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


class LogOnce:
    """Logs the first failure of a kind loudly, repeats quietly, and the recovery once."""

    def __init__(self, logger: logging.Logger, subject: str) -> None:
        self._logger = logger
        self._subject = subject
        self._active: set[str] = set()

    def failed(self, key: str, message: str, *, traceback: bool = False) -> None:
        """Log a failure: at WARNING the first time (with the traceback if asked), then DEBUG."""
        first = key not in self._active
        self._active.add(key)
        level = logging.WARNING if first else logging.DEBUG
        self._logger.log(level, "%s: %s", self._subject, message, exc_info=traceback and first)

    def succeeded(self, key: str) -> None:
        if key in self._active:
            self._active.discard(key)
            self._logger.info("%s: %s recovered", self._subject, key)


def guarded(
    name: str, job: Callable[[], Awaitable[object]], failures: LogOnce
) -> Callable[[], Coroutine[object, object, None]]:
    """``job`` wrapped for a scheduler that calls it again and again.

    A trustfloor error is logged once with its advice and no traceback (the job runs again on
    its next turn and says when it recovered); an unexpected exception is logged once with its
    traceback. Repeats of the same failure go to DEBUG, so a full disk does not flood the log.
    """

    async def run() -> None:
        try:
            await job()
        except TrustfloorError as error:
            failures.failed(name, f"{name} failed: {error.diagnostics()}")
        except Exception as error:  # a periodic job must survive any failure
            failures.failed(name, f"{name} failed: {type(error).__name__}: {error}", traceback=True)
        else:
            failures.succeeded(name)

    return run
