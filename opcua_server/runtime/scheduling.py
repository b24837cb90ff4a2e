"""The site's periodic jobs: each guarded, none overlapping itself, finished before a stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from connectors import LogOnce, guarded

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class PeriodicJobs:
    """Runs jobs every so many seconds on the event loop (APScheduler).

    A failing job says so once, with advice and without a traceback flood, and runs again on
    its next turn. ``stop`` lets the jobs under way end before the stores they use close.
    """

    def __init__(self) -> None:
        self._jobs: list[tuple[float, Job, str]] = []
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[object]] = set()
        self._failures = LogOnce(log, "scheduled job")
        self._stopping = False

    def every(self, seconds: float, job: Job, name: str) -> None:
        """Run ``job`` every ``seconds`` once started; a turn due while it runs is skipped."""
        self._jobs.append((seconds, job, name))

    @property
    def schedule(self) -> dict[str, float]:
        """Each job's name and its period in seconds."""
        return {name: seconds for seconds, _, name in self._jobs}

    def start(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        for seconds, job, name in self._jobs:
            self._scheduler.add_job(
                self._tracked(guarded(name, job, self._failures)),
                "interval",
                seconds=seconds,
                id=name,
                max_instances=1,
                coalesce=True,
            )
        self._scheduler.start()

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Start no job any more; let those under way end (they are short), cancelling, loudly,
        one that does not within ``timeout_s``."""
        self._stopping = True
        if self._scheduler is not None:
            # Paused, it starts no turn; shut down, its executor would cancel those under way.
            self._scheduler.pause()
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*self._running, return_exceptions=True)
        except TimeoutError:
            log.warning(
                "%d scheduled job(s) still running after %.0f s; cancelled",
                len(self._running),
                timeout_s,
            )
            for task in list(self._running):
                task.cancel()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)

    def _tracked(self, run: Job) -> Callable[[], Awaitable[None]]:
        """``run`` as a job that ``stop`` can wait for, and that no longer starts once stopping."""

        async def tracked() -> None:
            if self._stopping:
                return
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await run()
            finally:
                self._running.discard(task)

        return tracked
