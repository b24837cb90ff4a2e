"""SQLite historian: batches land in arrival order and are folded into the point-ordered table."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.historian import TelemetryStore
from models import ReadingBatch, good

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TAGS = tuple(f"t{n:03d}" for n in range(300))
WAL_FRAME_HEADER, WAL_HEADER = 24, 32


def poll(at_s: int, value: float = 1.0) -> ReadingBatch:
    """One reading of every tag of machine m1, all sampled ``at_s`` seconds after T0."""
    return ReadingBatch.good("m1", TAGS, T0 + timedelta(seconds=at_s), [value] * len(TAGS))


def wal_frames(path: Path) -> int:
    """Pages appended to the write-ahead log of ``path`` since it was last truncated."""
    with closing(sqlite3.connect(path)) as db:
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
    wal = path.with_name(path.name + "-wal")
    size = wal.stat().st_size if wal.exists() else 0
    return max(0, size - WAL_HEADER) // (page_size + WAL_FRAME_HEADER)


def truncate_wal(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0


def test_a_batch_over_many_points_appends_a_few_pages_not_one_per_point(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    store = TelemetryStore(path, defer_from=len(TAGS))
    try:
        for second in range(100):
            store.write(poll(second))
        assert store.count() == 100 * len(TAGS)  # folded: each point's rows share few pages
        truncate_wal(path)
        store.write(poll(100))
        assert wal_frames(path) <= 10  # the point-ordered table alone dirties ~200 pages here
        assert store.count() == 101 * len(TAGS)
    finally:
        store.close()


def test_a_later_arrival_of_the_same_point_and_time_replaces_the_earlier(tmp_path: Path) -> None:
    store = TelemetryStore(tmp_path / "t.sqlite", fold_rows=10 * len(TAGS), defer_from=len(TAGS))
    try:
        store.write(poll(0, 1.0))
        store.write(poll(0, 2.0))  # both wait to be folded together
        store.write(poll(1, 3.0))
        got = store.query("m1", "t007", T0, T0 + timedelta(seconds=1))
        assert got == [
            good("m1", "t007", T0, 2.0),
            good("m1", "t007", T0 + timedelta(seconds=1), 3.0),
        ]
        store.write(poll(1, 4.0))  # replaces a reading already folded
        assert (
            store.query("m1", "t007", T0 + timedelta(seconds=1), T0 + timedelta(seconds=1))[0].value
            == 4.0
        )
        assert store.count() == 2 * len(TAGS)
    finally:
        store.close()


def test_readings_a_crash_left_incoming_are_folded_when_the_file_is_opened(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    crashed = TelemetryStore(path, defer_from=len(TAGS))  # never closed, as after a kill
    crashed.write(poll(0))
    reopened = TelemetryStore(path)
    try:
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT count(*) FROM incoming").fetchone()[0] == 0
            assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == len(TAGS)
        assert reopened.query("m1", "t299", T0, T0) == [good("m1", "t299", T0, 1.0)]
    finally:
        reopened.close()
        crashed.close()


def test_a_fold_happens_in_the_write_that_fills_the_incoming_table(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    store = TelemetryStore(path, fold_rows=2 * len(TAGS), defer_from=len(TAGS))
    try:
        store.write(poll(0))
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 0
            store.write(poll(1))
            assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 2 * len(TAGS)
            assert db.execute("SELECT count(*) FROM incoming").fetchone()[0] == 0
    finally:
        store.close()


def test_a_small_batch_is_in_the_readings_table_at_once(tmp_path: Path) -> None:
    """Ingest that keeps up hands small batches: other readers of the file see them at once."""
    path = tmp_path / "t.sqlite"
    store = TelemetryStore(path, defer_from=len(TAGS) + 1)
    try:
        store.write(poll(0))
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == len(TAGS)
            assert db.execute("SELECT count(*) FROM incoming").fetchone()[0] == 0
    finally:
        store.close()
