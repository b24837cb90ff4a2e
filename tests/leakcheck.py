"""A guard that fails any async test leaving tasks behind (imported by the async suites)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio


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
        leaked = {t for t in asyncio.all_tasks() - before if not t.done() and t is not current}
        if not leaked:
            return
        await asyncio.sleep(0.02)
    names = sorted(t.get_name() + ": " + repr(t.get_coro()) for t in leaked)
    pytest.fail("test leaked tasks:\n  " + "\n  ".join(names))
