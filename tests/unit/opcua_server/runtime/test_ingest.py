"""Ingest bus: batches by size and age, back-pressure instead of drops, retry of failing sinks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from models import Reading, ReadingBatch, good
from opcua_server.runtime.ingest import IngestBus
from tests.support import wait_until

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def readings(n: int, start: int = 0) -> list[Reading]:
    return [good("m", "t", T0 + timedelta(seconds=start + i), float(start + i)) for i in range(n)]


class RecordingSink:
    """Collects batches; can fail the first `failures` deliveries, or block until released."""

    def __init__(self, failures: int = 0, gate: asyncio.Event | None = None) -> None:
        self.batches: list[list[Reading]] = []
        self.failures = failures
        self.gate = gate

    async def put(self, batch: Sequence[Reading]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        self.batches.append(list(batch))


def values(sink: RecordingSink) -> list[float]:
    return [float(r.value) for b in sink.batches for r in b if isinstance(r.value, float)]


def test_batches_are_full_size_and_ordered() -> None:
    async def scenario() -> None:
        sink = RecordingSink()
        bus = IngestBus([sink], capacity=100, batch_size=10, flush_interval_s=5)
        task = asyncio.create_task(bus.run())
        await bus.put(readings(25))
        await bus.close()
        await task
        assert [len(b) for b in sink.batches] == [10, 10, 5]
        assert values(sink) == [float(i) for i in range(25)]
        assert bus.stats.delivered == 25
        assert bus.stats.pending == 0

    asyncio.run(scenario())


def test_a_partial_batch_is_flushed_by_age() -> None:
    async def scenario() -> None:
        sink = RecordingSink()
        bus = IngestBus([sink], capacity=100, batch_size=1000, flush_interval_s=0.05)
        task = asyncio.create_task(bus.run())
        await bus.put(readings(3))
        await wait_until(lambda: bool(sink.batches))
        assert len(sink.batches[0]) == 3
        await bus.close()
        await task

    asyncio.run(scenario())


def test_a_full_buffer_makes_producers_wait_and_nothing_is_dropped() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        sink = RecordingSink(gate=gate)
        bus = IngestBus([sink], capacity=10, batch_size=5, flush_interval_s=0.01)
        task = asyncio.create_task(bus.run())
        producer = asyncio.create_task(bus.put(readings(10)))
        await producer
        blocked = asyncio.create_task(bus.put(readings(10, start=10)))
        await wait_until(lambda: bus.stats.waits >= 1 or blocked.done())
        assert not blocked.done(), "put should wait while the buffer is full"
        assert bus.stats.waits >= 1
        gate.set()
        await blocked
        await bus.close()
        await task
        assert values(sink) == [float(i) for i in range(20)]

    asyncio.run(scenario())


def test_a_failing_sink_is_retried_and_the_batch_is_kept() -> None:
    async def scenario() -> None:
        sink = RecordingSink(failures=2)
        bus = IngestBus([sink], capacity=100, batch_size=4, flush_interval_s=0.01)
        task = asyncio.create_task(bus.run())
        await bus.put(readings(4))
        await bus.close()
        await task
        assert values(sink) == [0.0, 1.0, 2.0, 3.0]
        assert bus.stats.sink_errors == 2

    asyncio.run(scenario())


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="capacity"):
        IngestBus([], capacity=0)


def test_poll_batches_are_joined_and_split_in_order_as_columns() -> None:
    async def scenario() -> None:
        sink = RecordingSink()
        delivered: list[Sequence[Reading]] = []

        class Keeping(RecordingSink):
            async def put(self, batch: Sequence[Reading]) -> None:
                delivered.append(batch)
                await super().put(batch)

        keeping = Keeping()
        bus = IngestBus([sink, keeping], capacity=100, batch_size=10, flush_interval_s=5)
        task = asyncio.create_task(bus.run())
        for poll in range(3):
            numbers = [float(7 * poll + i) for i in range(7)]
            tags = tuple(f"t{i}" for i in range(7))
            await bus.put(ReadingBatch.good("m", tags, T0 + timedelta(seconds=poll), numbers))
        await bus.close()
        await task
        assert [len(b) for b in sink.batches] == [10, 10, 1]
        assert values(sink) == [float(i) for i in range(21)]
        assert all(isinstance(batch, ReadingBatch) for batch in delivered)
        assert sink.batches[1][0] == good("m", "t3", T0 + timedelta(seconds=1), 10.0)
        assert bus.stats.pending == 0

    asyncio.run(scenario())


def test_every_sink_takes_a_batch_at_the_same_time() -> None:
    """The historian's thread writes while the address space publishes: the first sink may
    still be busy when the second takes the batch."""

    async def scenario() -> None:
        second_has_it = asyncio.Event()
        first = RecordingSink(gate=second_has_it)

        class Telling(RecordingSink):
            async def put(self, batch: Sequence[Reading]) -> None:
                await super().put(batch)
                second_has_it.set()

        second = Telling()
        bus = IngestBus([first, second], capacity=100, batch_size=4, flush_interval_s=0.01)
        task = asyncio.create_task(bus.run())
        await bus.put(readings(4))
        await bus.close()
        async with asyncio.timeout(10):  # delivering one sink after the other never ends
            await task
        assert values(first) == values(second) == [0.0, 1.0, 2.0, 3.0]

    asyncio.run(scenario())
