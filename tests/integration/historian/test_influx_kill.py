"""kill -9 of a process writing into the InfluxDB sink: every stored reading arrives once."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from connectors.historian import InfluxSink
from tests.integration.historian.kit import (
    base_micros,
    delivered,
    expected_samples,
    influx_settings,
    sample_count,
)
from tests.integration.historian.victoria import VictoriaMetrics
from tests.support import REPO, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
BATCH = 25
STORED_WITHIN_S = 60.0
"""A bound on each batch's report: the first one waits for the writer's interpreter to start."""


async def go_ahead(writer_input: asyncio.StreamWriter) -> None:
    """Let the writer put one more batch."""
    writer_input.write(b"go\n")
    await writer_input.drain()


async def run_writer_until_killed(data_dir: Path, machine: str, base: int, batches: int) -> int:
    """Start the writer against a dead endpoint; after ``batches`` batches, let it put one more
    and SIGKILL it at once.

    The writer puts one batch per go-ahead, so it is never ahead of the test however the two
    processes are scheduled. Returns the batches it reported stored (it may have stored the
    next one too, unreported).
    """
    nowhere = f"http://127.0.0.1:{free_port()}"
    writer = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.integration.historian.spool_writer"),
        *(str(data_dir), nowhere, machine, str(base), str(BATCH)),
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    reported = 0
    try:
        while reported < batches:
            await go_ahead(writer.stdin)
            line = await asyncio.wait_for(writer.stdout.readline(), STORED_WITHIN_S)
            assert line.startswith(b"stored "), line
            reported += 1
        await go_ahead(writer.stdin)
    finally:
        writer.kill()  # SIGKILL, before, while or after it puts the next batch
        await writer.wait()
        writer.stdin.close()
    return reported


async def test_readings_queued_before_a_kill_9_arrive_exactly_once(
    victoria: VictoriaMetrics, machine: str, tmp_path: Path
) -> None:
    base = base_micros()
    reported = await run_writer_until_killed(tmp_path, machine, base, batches=8)
    sink = InfluxSink(influx_settings(victoria.url), tmp_path)
    queued = sink.stats.queued
    assert queued in (reported * BATCH, (reported + 1) * BATCH)  # whole batches only
    await sink.start()
    try:
        await delivered(sink)
    finally:
        await sink.close()
    expected = expected_samples(range(queued), base)
    samples = await victoria.samples_once_searchable(machine, sample_count(expected))
    assert samples == expected
