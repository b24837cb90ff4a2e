"""SQLite historian: a kill -9 mid-rollup loses and double-counts nothing; async use."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.historian import Retention, SqliteHistorian, TelemetryStore
from models import Cause, Reading, bad, good
from models.ports import Aggregate, AggregateStatus
from tests.integration.historian.rollup_crasher import CHUNK_ROWS, RETENTION, open_store
from tests.support import REPO
from tests.unit.connectors.historian.reference import reference_aggregate

pytestmark = pytest.mark.asyncio(loop_scope="session")
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def readings(machine: str, seconds: range) -> list[Reading]:
    """One reading per second; every fifth one Bad."""
    return [
        bad(machine, "t", T0 + timedelta(seconds=s), Cause.COMMUNICATION, "timeout")
        if s % 5 == 4
        else good(machine, "t", T0 + timedelta(seconds=s), float(s % 37))
        for s in seconds
    ]


async def test_a_kill_9_in_the_middle_of_a_rollup_loses_and_double_counts_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "telemetry.sqlite"
    written = {m: readings(m, range(600)) for m in ("mill-1", "pump-1")}
    store = open_store(path)
    for batch in written.values():
        store.write(batch)
    store.close()
    now = T0 + timedelta(seconds=RETENTION.raw_s + 500)  # readings 0..499 s are due

    crasher = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.integration.historian.rollup_crasher"),
        *(str(path), now.isoformat(), "4"),
        cwd=REPO,
    )
    assert await crasher.wait() == -signal.SIGKILL

    store = open_store(path)
    try:
        left = store.count()
        assert 200 < left < 1200  # the kill came after some chunks and before the last
        assert_as_reference(store, written)
        report = store.maintain(now)
        assert (report.rolled_up, store.count()) == (left - 200, 200)
        assert_as_reference(store, written)
        assert store.maintain(now).rolled_up == 0
        assert_as_reference(store, written)
    finally:
        store.close()


def assert_as_reference(store: TelemetryStore, written: dict[str, list[Reading]]) -> None:
    end = T0 + timedelta(seconds=600)
    for machine, mine in written.items():
        for kind in Aggregate:
            got = store.aggregate(machine, "t", T0, end, 30, kind)
            want = reference_aggregate(mine, T0, end, 30, kind)
            assert [(v.start, v.status) for v in got] == [(s, status) for s, _, status in want]
            assert [v.value for v in got] == [pytest.approx(value) for _, value, _ in want]


async def test_writes_go_on_while_maintenance_runs(tmp_path: Path) -> None:
    historian = SqliteHistorian(
        tmp_path / "t.sqlite", Retention(100.0, 10, 1e9), chunk_rows=CHUNK_ROWS
    )
    try:
        await historian.write(readings("mill-1", range(0, 2000)))
        now = T0 + timedelta(seconds=100 + 1900)
        late = [
            historian.write(readings("mill-1", range(s, s + 50))) for s in range(2000, 3000, 50)
        ]
        report, _ = await asyncio.gather(historian.maintain(now), asyncio.gather(*late))
        assert report.rolled_up == 1900
        assert report.transactions >= 1900 // CHUNK_ROWS
        counts = await historian.aggregate(
            "mill-1", "t", T0, T0 + timedelta(seconds=3000), 1000, Aggregate.COUNT
        )
        assert [(v.value, v.status) for v in counts] == [
            (800, AggregateStatus.UNCERTAIN_DATA_SUBNORMAL)
        ] * 3
        assert historian.count() == 1100
    finally:
        await historian.close()
