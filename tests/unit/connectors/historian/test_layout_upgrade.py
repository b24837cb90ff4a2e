"""SQLite historian: one status code per stored reading; files of the first layout upgraded."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.historian import Retention, TelemetryStore
from models import Cause, Reading, ReadingBatch, bad, good, to_micros, uncertain
from models.ports import Aggregate

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RETENTION = Retention(raw_s=10.0, rollup_interval_s=2, aggregate_s=1000.0)

FIRST_LAYOUT = """
CREATE TABLE points (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    tag TEXT NOT NULL,
    UNIQUE (machine, tag)
);
CREATE TABLE readings (
    point INTEGER NOT NULL REFERENCES points(id),
    ts_us INTEGER NOT NULL,
    value,
    quality TEXT NOT NULL,
    cause TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (point, ts_us)
) WITHOUT ROWID;
"""
"""The readings table as trustfloor wrote it before the status code (a stored format)."""

READINGS = [
    *(good("m1", "a", T0 + timedelta(seconds=s), float(s)) for s in range(12)),
    uncertain("m1", "a", T0 + timedelta(seconds=12), 11.0, Cause.OUT_OF_RANGE, "above 10"),
    bad("m1", "a", T0 + timedelta(seconds=13), Cause.COMMUNICATION, "cannot connect"),
    bad("m1", "a", T0 + timedelta(seconds=14), Cause.DEVICE_EXCEPTION, "device exception 2"),
    good("m2", "b", T0, "idle"),
    good("m2", "b", T0 + timedelta(seconds=15), 3),
    bad("m2", "b", T0 + timedelta(seconds=16), Cause.INVALID_VALUE, "NaN"),
]
POINTS = [("m1", "a"), ("m2", "b")]
END = T0 + timedelta(seconds=20)


def first_layout_file(path: Path, readings: list[Reading]) -> Path:
    """A historian file of the first layout holding ``readings``."""
    points = {key: n for n, key in enumerate(dict.fromkeys((r.machine, r.tag) for r in readings))}
    db = sqlite3.connect(path)
    db.executescript(FIRST_LAYOUT)
    db.executemany("INSERT INTO points VALUES (?, ?, ?)", [(n, *k) for k, n in points.items()])
    db.executemany(
        "INSERT INTO readings VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                points[(r.machine, r.tag)],
                to_micros(r.source_ts),
                r.value,
                r.quality,
                r.cause,
                r.reason,
            )
            for r in readings
        ],
    )
    db.commit()
    db.close()
    return path


def answers(store: TelemetryStore) -> list[object]:
    """Everything a reader asks the store: raw readings, raw rows and every aggregate."""
    found: list[object] = []
    for machine, tag in POINTS:
        found.append(store.query(machine, tag, T0, END))
        found.append(store.query_rows(machine, tag, T0, END))
        found.extend(store.aggregate(machine, tag, T0, END, 4.0, kind) for kind in Aggregate)
    return found


def columns(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [row[1] for row in db.execute("PRAGMA table_info(readings)")]
    finally:
        db.close()


def test_a_good_reading_is_stored_as_status_zero_and_a_reason_only_when_set(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.sqlite"
    store = TelemetryStore(path)
    try:
        store.write(ReadingBatch.good("m1", ("a",), T0, [1.0]))
        store.write([READINGS[12]])
    finally:
        store.close()
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT value, status, reason FROM readings ORDER BY ts_us").fetchall()
    finally:
        db.close()
    assert rows == [(1.0, 0, None), (11.0, 16 + 4, "above 10")]


def test_a_file_of_the_first_layout_answers_as_a_file_written_now(tmp_path: Path) -> None:
    old_path = first_layout_file(tmp_path / "old.sqlite", READINGS)
    old = TelemetryStore(old_path, RETENTION, chunk_rows=3)
    new = TelemetryStore(tmp_path / "new.sqlite", RETENTION, chunk_rows=3)
    try:
        new.write(READINGS)
        assert columns(old_path) == ["point", "ts_us", "value", "status", "reason"]
        assert old.query("m1", "a", T0, END) == [r for r in READINGS if r.machine == "m1"]
        assert answers(old) == answers(new)
        now = T0 + timedelta(seconds=RETENTION.raw_s + 13)
        assert old.maintain(now) == new.maintain(now)
        assert old.count() == new.count() < len(READINGS)
        assert old.count_rollups() == new.count_rollups() > 0
        assert answers(old) == answers(new)
    finally:
        old.close()
        new.close()


def test_an_upgraded_file_opens_again_unchanged(tmp_path: Path) -> None:
    path = first_layout_file(tmp_path / "old.sqlite", READINGS)
    TelemetryStore(path).close()
    store = TelemetryStore(path)
    try:
        assert store.query("m2", "b", T0, END) == [r for r in READINGS if r.machine == "m2"]
        assert store.count() == len(READINGS)
    finally:
        store.close()
