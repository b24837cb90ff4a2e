"""Ingest fan-out: a bounded buffer between connectors and sinks, drained in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from models import Reading, ReadingSink

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestStats:
    """Counters for the status line and metrics."""

    received: int = 0
    delivered: int = 0
    batches: int = 0
    waits: int = 0
    sink_errors: int = 0

    @property
    def pending(self) -> int:
        return self.received - self.delivered


class IngestBus:
    """Connectors ``put`` readings; ``run`` hands batches to every sink in order.

    Back-pressure policy: when ``capacity`` readings are waiting, ``put`` waits until the sinks
    catch up, which slows the connectors' polling. A failing sink is retried with backoff while
    ingest is held back. Nothing is dropped.
    """

    def __init__(
        self,
        sinks: Sequence[ReadingSink],
        *,
        capacity: int = 10_000,
        batch_size: int = 1_000,
        flush_interval_s: float = 0.5,
    ) -> None:
        if capacity < 1 or batch_size < 1:
            raise ValueError("requires capacity >= 1 and batch_size >= 1")
        self._sinks = list(sinks)
        self._capacity = capacity
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._buffer: list[Reading] = []
        self._changed = asyncio.Condition()
        self._closed = False
        self.stats = IngestStats()

    async def put(self, readings: Sequence[Reading]) -> None:
        """Queue readings, waiting while the buffer is full (an empty buffer takes any batch)."""
        if not readings:
            return
        async with self._changed:
            if self._buffer and len(self._buffer) + len(readings) > self._capacity:
                self.stats.waits += 1
                await self._changed.wait_for(
                    lambda: not self._buffer or len(self._buffer) + len(readings) <= self._capacity
                )
            self._buffer.extend(readings)
            self.stats.received += len(readings)
            self._changed.notify_all()

    async def run(self) -> None:
        """Deliver batches (full-size or ``flush_interval_s`` old) until closed and empty."""
        while batch := await self._next_batch():
            await self._deliver(batch)

    async def close(self) -> None:
        """Stop accepting waits for more; ``run`` returns once everything buffered is delivered."""
        async with self._changed:
            self._closed = True
            self._changed.notify_all()

    async def _next_batch(self) -> list[Reading]:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._buffer) or self._closed)
            if not self._closed and len(self._buffer) < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_interval_s):
                        await self._changed.wait_for(
                            lambda: len(self._buffer) >= self._batch_size or self._closed
                        )
            return self._take()

    def _take(self) -> list[Reading]:
        batch = self._buffer[: self._batch_size]
        del self._buffer[: self._batch_size]
        self._changed.notify_all()
        return batch

    async def _deliver(self, batch: list[Reading]) -> None:
        """Hand ``batch`` to each sink in turn; a failing sink is retried, never skipped."""
        for sink in self._sinks:
            await self._deliver_to(sink, batch)
        self.stats.delivered += len(batch)
        self.stats.batches += 1

    async def _deliver_to(self, sink: ReadingSink, batch: list[Reading]) -> None:
        delay = 0.1
        while True:
            try:
                await sink.put(batch)
            except Exception:
                self.stats.sink_errors += 1
                log.exception(
                    "sink %s failed on %d readings; retrying in %.1f s (ingest is held back)",
                    type(sink).__name__,
                    len(batch),
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
            else:
                return
