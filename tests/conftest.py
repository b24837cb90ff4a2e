"""A guard that fails any async test leaving tasks behind (imported by the async suites)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

TRANSIENT_LIBRARY_WAITS = {"Queue.get"}
"""asyncua's long-lived client supervisor (a site connector started before the test) re-creates
an ``asyncio.wait_for(queue.get(), timeout)`` task on every turn; it belongs to that connector."""


def _library_wait(task: asyncio.Task[object]) -> bool:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", "") in TRANSIENT_LIBRARY_WAITS


@pytest_asyncio.fixture(autouse=True)
async def no_leaked_tasks(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Fail the test if it leaves tasks running that it started (session fixtures excluded)."""
    if request.node.get_closest_marker("allow_leaks"):
        yield
        return
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    for _ in range(50):
        leaked = {
            t
            for t in asyncio.all_tasks() - before
            if not t.done() and t is not current and not _library_wait(t)
        }
        if not leaked:
            return
        await asyncio.sleep(0.02)
    names = sorted(t.get_name() + ": " + repr(t.get_coro()) for t in leaked)
    pytest.fail("test leaked tasks:\n  " + "\n  ".join(names))
