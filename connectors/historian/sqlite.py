"""SQLite historian: WAL mode, batched inserts, readings queried by point and time range."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from connectors.errors import HistorianError
from models import Cause, Quality, Reading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    tag TEXT NOT NULL,
    UNIQUE (machine, tag)
);
CREATE TABLE IF NOT EXISTS readings (
    point INTEGER NOT NULL REFERENCES points(id),
    ts_us INTEGER NOT NULL,
    value,
    quality TEXT NOT NULL,
    cause TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (point, ts_us)
) WITHOUT ROWID;
"""

_INSERT = (
    "INSERT OR REPLACE INTO readings (point, ts_us, value, quality, cause, reason)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT = (
    "SELECT ts_us, value, quality, cause, reason FROM readings"
    " WHERE point = ? AND ts_us >= ? AND ts_us <= ? ORDER BY ts_us LIMIT ?"
)


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch of an aware timestamp."""
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """Inverse of :func:`to_micros`, in UTC."""
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


class SqliteHistorian:
    """One SQLite file; writes are batched and durable when ``write`` returns.

    Rewriting a reading with the same point and timestamp replaces it, so replays after a
    crash never duplicate rows.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise HistorianError(
                f"cannot open historian {path}: {error}",
                advice="check the data directory is writable and the file is not corrupt",
            ) from error
        self._points: dict[tuple[str, str], int] = dict(
            ((m, t), i) for i, m, t in self._db.execute("SELECT id, machine, tag FROM points")
        )
        self._lock = threading.Lock()

    async def write(self, readings: Sequence[Reading]) -> None:
        """Store a batch in one transaction."""
        if readings:
            await asyncio.to_thread(self._write_batch, readings)

    async def put(self, readings: Sequence[Reading]) -> None:
        """ReadingSink: same as :meth:`write`."""
        await self.write(readings)

    async def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]:
        """Readings of ``machine/tag`` with ``start <= source_ts <= end``, oldest first."""
        return await asyncio.to_thread(self._query, machine, tag, start, end, limit)

    async def close(self) -> None:
        with self._lock:
            self._db.close()

    def count(self) -> int:
        """Total readings stored."""
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM readings").fetchone()
        return int(row[0])

    def _point_id(self, machine: str, tag: str) -> int:
        key = (machine, tag)
        point = self._points.get(key)
        if point is None:
            cursor = self._db.execute(
                "INSERT INTO points (machine, tag) VALUES (?, ?)"
                " ON CONFLICT (machine, tag) DO UPDATE SET tag = excluded.tag RETURNING id",
                key,
            )
            point = int(cursor.fetchone()[0])
            self._points[key] = point
        return point

    def _write_batch(self, readings: Sequence[Reading]) -> None:
        with self._lock:
            try:
                self._db.execute("BEGIN")
                rows = [
                    (
                        self._point_id(r.machine, r.tag),
                        to_micros(r.source_ts),
                        r.value,
                        r.quality.value,
                        r.cause.value,
                        r.reason,
                    )
                    for r in readings
                ]
                self._db.executemany(_INSERT, rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                self._db.execute("ROLLBACK")
                self._points = {}
                raise HistorianError(f"cannot store {len(readings)} readings: {error}") from error

    def _query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int
    ) -> list[Reading]:
        with self._lock:
            point = self._points.get((machine, tag))
            if point is None:
                return []
            rows = self._db.execute(
                _SELECT, (point, to_micros(start), to_micros(end), limit)
            ).fetchall()
        return [
            Reading.model_construct(
                machine=machine,
                tag=tag,
                source_ts=from_micros(ts),
                value=value,
                quality=Quality(quality),
                cause=Cause(cause),
                reason=reason,
            )
            for ts, value, quality, cause, reason in rows
        ]
