"""Protocols (ports) through which connectors, maintenance, ledger and the server meet."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from models.readings import Reading


class Clock(Protocol):
    """Where time comes from, so tests control it instead of sleeping."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ReadingSink(Protocol):
    """Takes batches of readings; awaiting ``put`` is the back-pressure point."""

    async def put(self, readings: Sequence[Reading]) -> None: ...


@runtime_checkable
class Connector(Protocol):
    """A southbound device link that produces readings until it is stopped."""

    @property
    def name(self) -> str: ...

    async def run(self, sink: ReadingSink) -> None:
        """Poll or subscribe and hand readings to ``sink``; returns only when cancelled."""
        ...


class Historian(Protocol):
    """Durable store of readings, queried by point and time range."""

    async def write(self, readings: Sequence[Reading]) -> None: ...

    async def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]: ...

    async def close(self) -> None: ...
