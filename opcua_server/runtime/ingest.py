"""Ingest fan-out: a bounded buffer between connectors and sinks, drained in batches."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from models import Reading, ReadingBatch, ReadingSink

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

    Readings travel as columns: each ``put`` is kept as one :class:`ReadingBatch` (a poll's
    batch as it is), and a delivery joins them into one batch of at most ``batch_size``.
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
        self._buffer: collections.deque[ReadingBatch] = collections.deque()
        self._waiting = 0
        """Readings in ``_buffer``."""
        self._changed = asyncio.Condition()
        self._closed = False
        self.stats = IngestStats()

    async def put(self, readings: Sequence[Reading]) -> None:
        """Queue readings, waiting while the buffer is full (an empty buffer takes any batch)."""
        if not readings:
            return
        batch, size = ReadingBatch.of(readings), len(readings)
        async with self._changed:
            if self._waiting and self._waiting + size > self._capacity:
                self.stats.waits += 1
                await self._changed.wait_for(
                    lambda: not self._waiting or self._waiting + size <= self._capacity
                )
            self._buffer.append(batch)
            self._waiting += size
            self.stats.received += size
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

    async def _next_batch(self) -> ReadingBatch | None:
        async with self._changed:
            await self._changed.wait_for(lambda: bool(self._waiting) or self._closed)
            if not self._closed and self._waiting < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_interval_s):
                        await self._changed.wait_for(
                            lambda: self._waiting >= self._batch_size or self._closed
                        )
            return self._take() if self._waiting else None

    def _take(self) -> ReadingBatch:
        """The oldest ``batch_size`` readings (fewer when fewer wait), as one batch."""
        parts: list[ReadingBatch] = []
        wanted = self._batch_size
        while wanted and self._buffer:
            part = self._buffer.popleft()
            if len(part) > wanted:
                self._buffer.appendleft(part.part(wanted, len(part)))
                part = part.part(0, wanted)
            parts.append(part)
            wanted -= len(part)
        self._waiting -= self._batch_size - wanted
        self._changed.notify_all()
        return ReadingBatch.joined(parts)

    async def _deliver(self, batch: ReadingBatch) -> None:
        """Hand ``batch`` to every sink at once (the historian writes in its thread while the
        address space is published); a failing sink is retried, never skipped, and the next
        batch waits until every sink has taken this one."""
        await asyncio.gather(*(self._deliver_to(sink, batch) for sink in self._sinks))
        self.stats.delivered += len(batch)
        self.stats.batches += 1

    async def _deliver_to(self, sink: ReadingSink, batch: ReadingBatch) -> None:
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
