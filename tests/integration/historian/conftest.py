"""Fixtures of the historian integration tests: real VictoriaMetrics servers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.integration.historian.victoria import StartVictoria, VictoriaMetrics

_machines = itertools.count()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def victoria(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[VictoriaMetrics]:
    """One VictoriaMetrics for the session, without dedup: a duplicate write shows up twice."""
    server = VictoriaMetrics(tmp_path_factory.mktemp("victoria"))
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def start_victoria(tmp_path: Path) -> AsyncIterator[StartVictoria]:
    """Start a VictoriaMetrics of the test's own (to stop, pause or restart); all stopped after."""
    started: list[VictoriaMetrics] = []

    async def start(*, dedup: bool = False) -> VictoriaMetrics:
        server = VictoriaMetrics(tmp_path / f"victoria-{len(started)}", dedup=dedup)
        started.append(server)
        await server.start()
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
def machine() -> str:
    """A machine id unique to the test, so tests sharing one server never see each other's data."""
    return f"machine-{next(_machines)}"
