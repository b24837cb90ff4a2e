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
)
from tests.integration.historian.victoria import VictoriaMetrics
from tests.support import REPO, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")
BATCH = 25


async def run_writer_until_killed(data_dir: Path, machine: str, base: int, batches: int) -> int:
    """Start the writer against a dead endpoint, SIGKILL it after ``batches`` stored batches.

    Returns the number of batches it reported stored (it may have stored one more unreported).
    """
    nowhere = f"http://127.0.0.1:{free_port()}"
    writer = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.integration.historian.spool_writer"),
        *(str(data_dir), nowhere, machine, str(base), str(BATCH)),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert writer.stdout is not None
    reported = 0
    try:
        while reported < batches:
            line = await asyncio.wait_for(writer.stdout.readline(), 30)
            assert line.startswith(b"stored "), line
            reported += 1
    finally:
        writer.kill()  # SIGKILL, while it is putting the next batch
        await writer.wait()
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
    samples = await victoria.samples(machine)
    for _ in range(100):
        if samples == expected:
            break
        samples = await victoria.samples(machine)
    assert samples == expected
