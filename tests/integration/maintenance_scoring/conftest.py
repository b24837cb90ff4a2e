"""Fixtures of the scoring integration tests: the leak guard, one-thread numeric libraries."""

from collections.abc import Iterator

import pytest
from threadpoolctl import threadpool_limits

from tests.leakcheck import no_leaked_tasks

__all__ = ["no_leaked_tasks", "one_thread"]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """BLAS and OpenMP on one thread: the machine is shared, and results stay reproducible."""
    with threadpool_limits(limits=1):
        yield
