"""InfluxDB sink against real VictoriaMetrics: delivery, outages, a stalled server, a full spool."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from connectors.historian import InfluxSink, Spool, SpoolFullError
from tests.integration.historian.kit import (
    base_micros,
    delivered,
    expected_samples,
    influx_settings,
    numbered,
    sample_count,
    spool_of,
)
from tests.integration.historian.victoria import StartVictoria, VictoriaMetrics
from tests.support import free_port, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def started(url: str, data_dir: Path, **overrides: object) -> InfluxSink:
    sink = InfluxSink(influx_settings(url, **overrides), data_dir)
    await sink.start()
    return sink


async def exactly_once(server: VictoriaMetrics, machine: str, numbers: range, base: int) -> None:
    """Every reading is on the server once: none lost, none duplicated, quality kept."""
    expected = expected_samples(numbers, base)
    samples = await server.samples_once_searchable(machine, sample_count(expected))
    assert samples == expected


async def test_readings_arrive_once_with_tags_quality_and_timestamps(
    victoria: VictoriaMetrics, machine: str, tmp_path: Path
) -> None:
    base = base_micros()
    sink = await started(victoria.url, tmp_path, batch_size=40)
    try:
        for first in range(0, 230, 23):  # batches of 23, sent 40 at a time (and one partial)
            await sink.put(numbered(machine, range(first, first + 23), base))
        await delivered(sink)
        stats = sink.stats
        assert (stats.accepted, stats.sent, stats.queued, stats.refused) == (230, 230, 0, 0)
    finally:
        await sink.close()
    await exactly_once(victoria, machine, range(230), base)


async def test_readings_wait_on_disk_while_the_endpoint_is_down_then_all_arrive_once(
    start_victoria: StartVictoria, machine: str, tmp_path: Path
) -> None:
    server = await start_victoria()
    base = base_micros()
    sink = await started(server.url, tmp_path / "site")
    try:
        await sink.put(numbered(machine, range(100), base))
        await delivered(sink)
        await server.stop()
        for first in range(100, 400, 50):
            await sink.put(numbered(machine, range(first, first + 50), base))
        await wait_until(lambda: sink.stats.retries >= 3)
        stats = sink.stats
        assert (stats.sent, stats.queued) == (100, 300)
        assert server.url in stats.last_error
        await server.start()  # same port, same storage: the endpoint is back
        await delivered(sink)
        assert sink.stats.sent == 400
    finally:
        await sink.close()
    await exactly_once(server, machine, range(400), base)


async def test_put_returns_while_the_endpoint_hangs(
    start_victoria: StartVictoria, machine: str, tmp_path: Path
) -> None:
    """A stalled server (SIGSTOP) times writes out; put keeps storing to disk meanwhile.

    Writes that timed out reach the server once it resumes, and their retries too: the
    server's dedup (like InfluxDB's) keeps one point per series and timestamp.
    """
    server = await start_victoria(dedup=True)
    base = base_micros()
    sink = await started(server.url, tmp_path, timeout_s=0.5)
    server.pause()
    try:
        await sink.put(numbered(machine, range(50), base))
        await wait_until(lambda: sink.stats.retries >= 1)
        for first in range(50, 300, 50):
            await sink.put(numbered(machine, range(first, first + 50), base))
        assert (sink.stats.accepted, sink.stats.sent, sink.stats.queued) == (300, 0, 300)
        server.resume()
        await delivered(sink)
    finally:
        server.resume()
        await sink.close()
    await exactly_once(server, machine, range(300), base)


async def fill_until_refused(sink: InfluxSink, machine: str, base: int) -> int:
    """Put batches of 10 until the spool refuses one; returns how many readings it took."""
    stored = 0
    while True:
        try:
            await sink.put(numbered(machine, range(stored, stored + 10), base))
        except SpoolFullError:
            return stored
        stored += 10


async def test_a_full_spool_refuses_readings_counts_them_and_keeps_the_rest(
    victoria: VictoriaMetrics, machine: str, tmp_path: Path
) -> None:
    base = base_micros()
    nowhere = f"http://127.0.0.1:{free_port()}"
    sink = await started(nowhere, tmp_path, max_spool_mb=0.01)  # about 10 kB
    try:
        stored = await fill_until_refused(sink, machine, base)
        with pytest.raises(SpoolFullError) as refused:  # and it stays full
            await sink.put(numbered(machine, range(stored, stored + 10), base))
        assert "max_spool_mb" in refused.value.advice
        stats = sink.stats
        assert (stats.accepted, stats.refused, stats.queued) == (stored, 20, stored)
        assert "spool" in stats.last_error
        assert stats.queued_bytes <= 0.01 * 1024 * 1024
    finally:
        await sink.close()
    replay = await started(victoria.url, tmp_path, max_spool_mb=0.01)
    try:
        await delivered(replay)
    finally:
        await replay.close()
    await exactly_once(victoria, machine, range(stored), base)


async def test_a_resent_batch_is_stored_once_where_the_server_dedupes(
    start_victoria: StartVictoria, machine: str, tmp_path: Path
) -> None:
    """The crash window: the server accepted a batch, the cursor had not moved yet."""
    server = await start_victoria(dedup=True)
    base = base_micros()
    queued = InfluxSink(influx_settings(server.url), tmp_path / "a")
    await queued.put(numbered(machine, range(120), base))
    await queued.close()
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the spool as it was before the ack
    for data_dir in (tmp_path / "a", tmp_path / "b"):
        sink = await started(server.url, data_dir)
        try:
            await delivered(sink)
        finally:
            await sink.close()
    await exactly_once(server, machine, range(120), base)


class FakeRejectingInflux:
    """A fake InfluxDB write endpoint: HTTP 400 for a body naming ``poison``, else 204.

    A fake because no server runnable here refuses valid line protocol: VictoriaMetrics
    accepts every point, and no InfluxDB 2 exists in the Debian or npm registries.
    """

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.refused = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def write(self, request: web.Request) -> web.Response:
        body = await request.read()
        if b"poison" in body:
            self.refused += 1
            return web.json_response(
                {"code": "invalid", "message": "partial write: field type conflict"}, status=400
            )
        self.accepted.append(body)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/v2/write", self.write)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def rejecting_influx() -> AsyncIterator[FakeRejectingInflux]:
    fake = FakeRejectingInflux()
    await fake.start()
    yield fake
    await fake.stop()


async def test_a_batch_the_server_refuses_is_set_aside_and_the_rest_flows(
    rejecting_influx: FakeRejectingInflux, tmp_path: Path
) -> None:
    base = base_micros()
    sink = await started(rejecting_influx.url, tmp_path, batch_size=10, flush_interval_s=0.01)
    try:
        await sink.put(numbered("poison", range(10), base))
        await delivered(sink)
        await sink.put(numbered("healthy", range(10), base))
        await delivered(sink)
        stats = sink.stats
        assert (stats.rejected, stats.sent, stats.retries) == (10, 10, 0)
        assert "HTTP 400" in stats.last_error
    finally:
        await sink.close()
    assert rejecting_influx.refused == 1
    assert [body.count(b"\n") + 1 for body in rejecting_influx.accepted] == [10]
    kept = Spool(spool_of(tmp_path), max_bytes=1)
    try:
        rejected = kept.rejected()
    finally:
        kept.close()
    assert [body.count(b"machine=poison") for _, body, _ in rejected] == [10]
    assert all("HTTP 400" in error for _, _, error in rejected)
