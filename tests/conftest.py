"""Fixtures of every test: the guard against leaked tasks; one-thread numerics on request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from threadpoolctl import threadpool_limits

from tests.support import wait_until

LEAK_WAIT_S = 5.0
"""How long the guard lets a test's tasks finish after it returned: a bound, not a measurement."""

TRANSIENT_LIBRARY_WAITS = {"Queue.get"}
"""asyncua's long-lived client supervisor (a site connector started before the test) re-creates
an ``asyncio.wait_for(queue.get(), timeout)`` task on every turn; it belongs to that connector."""


def _library_wait(task: asyncio.Task[object]) -> bool:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", "") in TRANSIENT_LIBRARY_WAITS


@pytest_asyncio.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail the test if it leaves tasks running that it started (session fixtures excluded)."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()

    def leaked() -> set[asyncio.Task[object]]:
        return {
            t
            for t in asyncio.all_tasks() - before
            if not t.done() and t is not current and not _library_wait(t)
        }

    try:
        await wait_until(lambda: not leaked(), timeout_s=LEAK_WAIT_S)
    except TimeoutError:
        names = sorted(t.get_name() + ": " + repr(t.get_coro()) for t in leaked())
        pytest.fail("test leaked tasks:\n  " + "\n  ".join(names))


@pytest.fixture
def one_thread() -> Iterator[None]:
    """BLAS and OpenMP on one thread: the machine is shared, and results stay reproducible."""
    with threadpool_limits(limits=1):
        yield
