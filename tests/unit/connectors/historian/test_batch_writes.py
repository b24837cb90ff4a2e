"""SQLite historian: a batch written from its columns reads back as the readings it holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.historian import TelemetryStore
from models import Cause, ReadingBatch, bad, good, uncertain

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_a_batch_with_new_points_and_every_quality_is_stored_whole(tmp_path: Path) -> None:
    store = TelemetryStore(tmp_path / "t.sqlite")
    try:
        store.write(ReadingBatch.good("m1", ("a", "b"), T0, [1.0, 2.0]))
        later = T0 + timedelta(seconds=1)
        mixed = [
            good("m1", "a", later, 3.0),
            uncertain("m1", "b", later, 11.0, Cause.OUT_OF_RANGE, "above the range"),
            bad("m2", "c", later, Cause.COMMUNICATION, "cannot connect"),
            good("m2", "d", later, "idle"),
        ]
        store.write(ReadingBatch.joined([ReadingBatch.of(mixed)]))
        end = T0 + timedelta(seconds=2)
        assert store.count() == 6
        assert store.query("m1", "a", T0, end) == [good("m1", "a", T0, 1.0), mixed[0]]
        assert store.query("m1", "b", T0, end) == [good("m1", "b", T0, 2.0), mixed[1]]
        assert store.query("m2", "c", T0, end) == [mixed[2]]
        assert store.query("m2", "d", T0, end) == [mixed[3]]
    finally:
        store.close()
