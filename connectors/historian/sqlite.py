"""SQLite historian: WAL, batched inserts, retention with interval rollups, processed history."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config import HistorianSettings
from connectors.errors import HistorianError
from connectors.historian.aggregates import Partial, aggregate_values, interval_count
from connectors.historian.errors import RollupIntervalChangedError
from connectors.historian.status import (
    CAUSE_TEXT,
    GOOD_STATUS,
    QUALITY_TEXT,
    STATUS_CODES,
    STATUS_OF_TEXT,
)
from models import (
    MICROS_PER_SECOND,
    Aggregate,
    AggregateValue,
    Cause,
    Quality,
    Reading,
    ReadingBatch,
    Synchronous,
    from_micros,
    open_wal,
    seconds_to_micros,
    to_micros,
    transaction,
)

log = logging.getLogger(__name__)

RawRow = tuple[int, float | int | str | None, str, str, str]
"""A stored reading: source time (µs since the Unix epoch), value, quality, cause, reason."""
_Chunk = Callable[[sqlite3.Connection, int, int], int]
"""One bounded maintenance step: moves rows of ``point`` below ``before``, returns how many."""

__all__ = [
    "MaintenanceReport",
    "Retention",
    "SqliteHistorian",
    "TelemetryStore",
]

_READINGS = """
CREATE TABLE IF NOT EXISTS {name} (
    point INTEGER NOT NULL REFERENCES points(id),
    ts_us INTEGER NOT NULL,
    value,
    status INTEGER NOT NULL,
    reason TEXT,
    PRIMARY KEY (point, ts_us)
) WITHOUT ROWID;
"""
"""Raw readings: ``status`` codes quality and cause (``connectors.historian.status``; 0 is
Good), ``reason`` is NULL unless the reading has one. The first layout held quality, cause and
reason as text; such a file is rewritten into this one when it is opened."""

_INCOMING = """
CREATE TABLE IF NOT EXISTS incoming (
    point INTEGER NOT NULL,
    ts_us INTEGER NOT NULL,
    value,
    status INTEGER NOT NULL,
    reason TEXT
);
"""
"""Readings as they arrive, in arrival order, before they are folded into ``readings``.

``readings`` is ordered by point, so a batch of one reading for each of thousands of points
dirties a page per point; appending to this table dirties a few pages per batch, and a fold
moves many batches into ``readings`` at once, touching each point's page once for all of them.
"""

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    machine TEXT NOT NULL,
    tag TEXT NOT NULL,
    UNIQUE (machine, tag)
);"""
    + _READINGS.format(name="readings")
    + _INCOMING
    + """
CREATE TABLE IF NOT EXISTS rollups (
    point INTEGER NOT NULL REFERENCES points(id),
    bucket_us INTEGER NOT NULL,
    n_all INTEGER NOT NULL,
    n_good INTEGER NOT NULL,
    n_numeric INTEGER NOT NULL,
    total REAL NOT NULL,
    lowest REAL,
    highest REAL,
    PRIMARY KEY (point, bucket_us)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
)

_INSERT = "INSERT INTO incoming (point, ts_us, value, status, reason) VALUES (?, ?, ?, ?, ?)"
_INSERT_GOOD = "INSERT INTO incoming (point, ts_us, value, status) VALUES (?, ?, ?, 0)"
"""A Good reading with no cause and no reason binds three parameters."""
_FOLD = (
    "INSERT OR REPLACE INTO readings (point, ts_us, value, status, reason)"
    " SELECT point, ts_us, value, status, reason FROM incoming ORDER BY point, ts_us, rowid",
    "DELETE FROM incoming",
)
"""Moves the incoming readings into ``readings`` in key order; of two readings of one point
and time the later arrival replaces the earlier, as it would have written directly."""
_SELECT = (
    f"SELECT ts_us, value, {QUALITY_TEXT}, {CAUSE_TEXT}, coalesce(reason, '') FROM readings"
    " WHERE point = ? AND ts_us >= ? AND ts_us <= ? ORDER BY ts_us LIMIT ?"
)
_UPGRADE = (
    _READINGS.format(name="readings_status"),
    "INSERT INTO readings_status (point, ts_us, value, status, reason)"
    f" SELECT point, ts_us, value, {STATUS_OF_TEXT}, nullif(reason, '') FROM readings",
    "DROP TABLE readings",
    "ALTER TABLE readings_status RENAME TO readings",
)
"""Rewrites a file of the first layout (quality, cause and reason as text) into the current."""

_WRITE_PRAGMAS = ("PRAGMA cache_size = -16384", "PRAGMA wal_autocheckpoint = 10000")
"""A batch adds one row to each of thousands of points, so it dirties a page per point: a
16 MiB page cache keeps those pages between batches, and checkpointing every 10,000 WAL pages
(not 1,000) copies each page back to the database once for several batches."""

_GOOD = GOOD_STATUS
_NUMBER = f"{GOOD_STATUS} AND typeof(value) IN ('integer', 'real')"
_RAW_SUMS = (
    f"count(*), sum({_GOOD}), sum({_NUMBER}), total(CASE WHEN {_NUMBER} THEN value END),"
    f" min(CASE WHEN {_NUMBER} THEN value END), max(CASE WHEN {_NUMBER} THEN value END)"
)
_ROLLUP_SUMS = "sum(n_all), sum(n_good), sum(n_numeric), total(total), min(lowest), max(highest)"

_ROLL_UP = f"""
INSERT INTO rollups (point, bucket_us, n_all, n_good, n_numeric, total, lowest, highest)
SELECT point, ts_us - ts_us % :interval AS bucket, {_RAW_SUMS}
FROM readings WHERE point = :point AND ts_us < :upper
GROUP BY point, bucket
ON CONFLICT (point, bucket_us) DO UPDATE SET
    n_all = n_all + excluded.n_all,
    n_good = n_good + excluded.n_good,
    n_numeric = n_numeric + excluded.n_numeric,
    total = total + excluded.total,
    lowest = coalesce(min(lowest, excluded.lowest), lowest, excluded.lowest),
    highest = coalesce(max(highest, excluded.highest), highest, excluded.highest)
"""
_RAW_PARTIALS = f"""
SELECT (ts_us - :start) / :interval AS slot, {_RAW_SUMS}
FROM readings WHERE point = :point AND ts_us >= :start AND ts_us < :end GROUP BY slot
"""
_ROLLUP_PARTIALS = f"""
SELECT (bucket_us - :start) / :interval AS slot, {_ROLLUP_SUMS}
FROM rollups WHERE point = :point AND bucket_us >= :start AND bucket_us < :end GROUP BY slot
"""


@dataclass(frozen=True, slots=True)
class Retention:
    """How long raw readings and interval aggregates are kept, and the aggregate interval."""

    raw_s: float = 7 * 86_400
    rollup_interval_s: int = 60
    aggregate_s: float = 730 * 86_400

    @classmethod
    def from_settings(cls, settings: HistorianSettings) -> Retention:
        return cls(
            raw_s=settings.raw_retention_s,
            rollup_interval_s=settings.rollup_interval_s,
            aggregate_s=settings.aggregate_retention_s,
        )


@dataclass(slots=True)
class MaintenanceReport:
    """What one :meth:`TelemetryStore.maintain` did."""

    rolled_up: int = 0
    """Raw readings folded into interval aggregates, then deleted."""
    late: int = 0
    """Of those, readings that arrived after their time had already been rolled up."""
    expired_aggregates: int = 0
    """Interval aggregates deleted because they outlived the aggregate retention."""
    transactions: int = 0


class TelemetryStore:
    """One SQLite file of readings and interval rollups; synchronous and thread-safe.

    Rewriting a reading with the same point and timestamp replaces it, so replays never
    duplicate raw rows. Raw readings older than ``retention.raw_s`` are folded into per-point
    interval aggregates (count, Good count, Good numeric count, sum, min, max per
    ``rollup_interval_s``, aligned to the Unix epoch) and deleted by :meth:`maintain`. Once
    folded, a reading can no longer be replaced: one arriving later for a time already rolled
    up is folded in too at the next :meth:`maintain` (counted in ``late`` and logged), so a
    rewrite of an already folded reading counts twice.
    """

    def __init__(
        self,
        path: Path,
        retention: Retention | None = None,
        *,
        chunk_rows: int = 10_000,
        fold_rows: int = 250_000,
        defer_from: int = 5_000,
    ) -> None:
        if chunk_rows < 1 or fold_rows < 1 or defer_from < 1:
            raise ValueError("requires chunk_rows, fold_rows and defer_from >= 1")
        self.path = path
        self.retention = retention or Retention()
        self.chunk_rows = chunk_rows
        self.fold_rows = fold_rows
        self.defer_from = defer_from
        self._lock = threading.Lock()
        self._db = open_wal(
            path,
            _SCHEMA,
            Synchronous.NORMAL,
            error=HistorianError,
            label=f"historian {path}",
            advice="check the data directory is writable and the file is not corrupt",
        )
        for pragma in _WRITE_PRAGMAS:
            self._db.execute(pragma)
        self._interval_us = self.retention.rollup_interval_s * MICROS_PER_SECOND
        self._upgrade_layout()
        self._check_rollup_interval()
        self._points = self._stored_points()
        self._incoming = self._count_incoming()
        with self._lock:
            self._fold()  # readings a crash left in ``incoming``

    def _stored_points(self) -> dict[tuple[str, str], int]:
        """Point ids by (machine, tag), as committed."""
        rows = self._db.execute("SELECT id, machine, tag FROM points")
        return {(machine, tag): point for point, machine, tag in rows}

    def write(self, readings: Sequence[Reading]) -> None:
        """Store a batch in one transaction; once this returns it survives a process crash.

        (WAL with ``synchronous=NORMAL``: a power cut may lose the last commits, never corrupt.)
        A :class:`ReadingBatch` is stored from its columns, with no object per reading. The
        batch is appended to ``incoming`` and, in the same transaction, folded into ``readings``
        with whatever waits there, unless it is a large batch (``defer_from`` readings or more:
        ingest under load) and fewer than ``fold_rows`` readings wait. Every read folds first,
        so it sees them all.
        """
        if not readings:
            return
        batch = ReadingBatch.of(readings)
        with self._lock:
            incoming = self._incoming + len(batch)
            try:
                with self._transaction(f"cannot store {len(batch)} readings in {self.path}"):
                    self._db.executemany(*self._rows(batch))
                    if incoming >= self.fold_rows or len(batch) < self.defer_from:
                        self._fold_into_readings()
                        incoming = 0
            except HistorianError:
                self._points = self._stored_points()  # forget ids the rollback took back
                raise
            self._incoming = incoming

    def _count_incoming(self) -> int:
        """Readings waiting in ``incoming``, as committed."""
        return int(self._db.execute("SELECT count(*) FROM incoming").fetchone()[0])

    def _fold(self) -> None:
        """Fold the incoming readings into ``readings`` in one transaction, if any wait (the
        caller holds the lock)."""
        if self._incoming:
            with self._transaction(f"cannot fold the incoming readings of {self.path}"):
                self._fold_into_readings()
            self._incoming = 0

    def _fold_into_readings(self) -> None:
        """Move every incoming reading into ``readings`` (inside the caller's transaction)."""
        for statement in _FOLD:
            self._db.execute(statement)

    def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]:
        """Raw readings of ``machine/tag`` with ``start <= source_ts <= end``, oldest first."""
        rows = self.query_rows(machine, tag, start, end, limit)
        return [_reading(machine, tag, *row) for row in rows]

    def query_rows(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[RawRow]:
        """:meth:`query` as stored rows, with no object per reading (HistoryRead's fast path)."""
        with self._lock:
            point = self._points.get((machine, tag))
            if point is None:
                return []
            self._fold()
            return self._db.execute(
                _SELECT, (point, to_micros(start), to_micros(end), limit)
            ).fetchall()

    def aggregate(
        self,
        machine: str,
        tag: str,
        start: datetime,
        end: datetime,
        interval_s: float,
        kind: Aggregate,
    ) -> list[AggregateValue]:
        """Processed history: one value per interval [start + k·interval, …) up to ``end``.

        Raw readings count where they are still kept and rollups where they were folded; both
        are read in one snapshot, so a concurrent :meth:`maintain` never counts a reading twice
        or not at all. A rollup counts in the interval holding its start, so ranges older than
        the raw retention resolve to ``rollup_interval_s``.
        """
        start_us, end_us = to_micros(start), to_micros(end)
        interval_us = max(1, seconds_to_micros(interval_s))
        interval_count(start_us, end_us, interval_us)
        partials = self._partials(machine, tag, start_us, end_us, interval_us)
        return aggregate_values(partials, start_us, end_us, interval_us, kind)

    def maintain(self, now: datetime) -> MaintenanceReport:
        """Fold raw readings older than the raw retention into rollups; expire old rollups.

        Works per point in transactions of at most ``chunk_rows`` rows; each adds a chunk to
        the rollups and deletes exactly those raw rows together, so a crash between (or inside)
        transactions neither loses nor double-counts, and running it again is harmless.
        """
        report = MaintenanceReport()
        with self._lock:
            self._fold()
        now_us = to_micros(now)
        raw_cutoff = now_us - seconds_to_micros(self.retention.raw_s)
        # a rollup expires once its whole interval is older than the aggregate retention
        expired_below = (
            now_us - seconds_to_micros(self.retention.aggregate_s) - self._interval_us + 1
        )
        rolled_below = self._meta("rolled_below_us")
        for point in self._point_ids():
            report.late += self._count_below(point, min(rolled_below, raw_cutoff))
            report.rolled_up += self._drain_chunks(self._roll_up_chunk, point, raw_cutoff, report)
            report.expired_aggregates += self._drain_chunks(
                self._expire_chunk, point, expired_below, report
            )
        self._set_meta("rolled_below_us", max(rolled_below, raw_cutoff))
        if report.late:
            log.warning(
                "%d readings arrived older than the raw retention; folded into their interval "
                "aggregates (a reading rewritten after its rollup counts twice)",
                report.late,
            )
        return report

    def count(self) -> int:
        """Raw readings stored."""
        with self._lock:
            self._fold()
            return int(self._db.execute("SELECT count(*) FROM readings").fetchone()[0])

    def count_rollups(self) -> int:
        """Interval aggregates stored (one per point and interval)."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM rollups").fetchone()[0])

    def close(self) -> None:
        """Fold the incoming readings (so ``readings`` alone holds every reading) and close."""
        with self._lock:
            try:
                self._fold()
            finally:
                self._db.close()

    def _drain_chunks(
        self, chunk: _Chunk, point: int, before: int, report: MaintenanceReport
    ) -> int:
        """Run ``chunk`` until it moves fewer than ``chunk_rows`` rows; returns rows moved."""
        moved = 0
        while True:
            with self._lock, self._transaction() as db:
                rows = chunk(db, point, before)
            moved += rows
            report.transactions += 1
            if rows < self.chunk_rows:
                return moved

    def _roll_up_chunk(self, db: sqlite3.Connection, point: int, before: int) -> int:
        upper = _chunk_end(db, "readings", "ts_us", point, before, self.chunk_rows)
        db.execute(_ROLL_UP, {"interval": self._interval_us, "point": point, "upper": upper})
        return db.execute(
            "DELETE FROM readings WHERE point = ? AND ts_us < ?", (point, upper)
        ).rowcount

    def _count_below(self, point: int, below: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT count(*) FROM readings WHERE point = ? AND ts_us < ?", (point, below)
            ).fetchone()
        return int(row[0])

    def _meta(self, key: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else -(2**62)

    def _set_meta(self, key: str, value: int) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def _expire_chunk(self, db: sqlite3.Connection, point: int, before: int) -> int:
        upper = _chunk_end(db, "rollups", "bucket_us", point, before, self.chunk_rows)
        return db.execute(
            "DELETE FROM rollups WHERE point = ? AND bucket_us < ?", (point, upper)
        ).rowcount

    def _partials(
        self, machine: str, tag: str, start_us: int, end_us: int, interval_us: int
    ) -> dict[int, Partial]:
        args = {"start": start_us, "end": end_us, "interval": interval_us}
        partials: dict[int, Partial] = {}
        with self._lock:
            point = self._points.get((machine, tag))
            if point is None:
                return partials
            args["point"] = point
            self._fold()
            with self._transaction() as db:
                rows = db.execute(_RAW_PARTIALS, args).fetchall()
                rows += db.execute(_ROLLUP_PARTIALS, args).fetchall()
        for slot, *sums in rows:
            partial = _partial(*sums)
            partials[slot] = partials[slot].merge(partial) if slot in partials else partial
        return partials

    def _point_ids(self) -> list[int]:
        with self._lock:
            return [int(row[0]) for row in self._db.execute("SELECT id FROM points ORDER BY id")]

    def _rows(self, batch: ReadingBatch) -> tuple[str, Iterator[tuple[object, ...]]]:
        """The insert statement and the parameters of each reading, column by column (a poll's
        readings share one timestamp, so each distinct timestamp is converted once)."""
        micros = {ts: to_micros(ts) for ts in set(batch.times)}
        points = self._point_column(batch)
        times = map(micros.__getitem__, batch.times)
        if _plainly_good(batch):
            return _INSERT_GOOD, zip(points, times, batch.values, strict=True)
        statuses = map(STATUS_CODES.__getitem__, zip(batch.qualities, batch.causes, strict=True))
        reasons = (reason or None for reason in batch.reasons)
        return _INSERT, zip(points, times, batch.values, statuses, reasons, strict=True)

    def _point_column(self, batch: ReadingBatch) -> list[int]:
        """The point id of each reading; points seen for the first time are added."""
        keys = zip(batch.machines, batch.tags, strict=True)
        try:
            return list(map(self._points.__getitem__, keys))
        except KeyError:
            keys = zip(batch.machines, batch.tags, strict=True)
            return [self._point_id(machine, tag) for machine, tag in keys]

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

    def _upgrade_layout(self) -> None:
        """Rewrite a file of the first layout into the current one, in one transaction."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(readings)")}
        if "quality" not in columns:
            return
        with self._transaction(f"cannot upgrade the readings of {self.path}") as db:
            for statement in _UPGRADE:
                db.execute(statement)
        log.info("historian %s: readings rewritten with one status code each", self.path)

    def _check_rollup_interval(self) -> None:
        """The rollup interval is fixed once rollups exist: buckets of two sizes cannot merge."""
        with self._transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'rollup_interval_us'").fetchone()
            has_rollups = db.execute("SELECT 1 FROM rollups LIMIT 1").fetchone() is not None
            if row is not None and row[0] != self._interval_us and has_rollups:
                stored_s = row[0] // MICROS_PER_SECOND
                raise RollupIntervalChangedError(
                    f"{self.path} holds rollups of {stored_s} s, "
                    f"not {self.retention.rollup_interval_s} s",
                    advice=f"set historian.rollup_interval_s = {stored_s} again, "
                    "or start a new sqlite_file",
                )
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('rollup_interval_us', ?)",
                (self._interval_us,),
            )

    def _transaction(self, label: str = "") -> AbstractContextManager[sqlite3.Connection]:
        """BEGIN … COMMIT on the store's connection (the caller holds the lock), rolled back on
        any error; a SQLite failure raises HistorianError named by ``label``."""
        return transaction(
            self._db, HistorianError, label or f"historian {self.path}", immediate=False
        )


def _plainly_good(batch: ReadingBatch) -> bool:
    """Whether every reading of ``batch`` is Good with no cause and no reason."""
    size = len(batch)
    return (
        batch.qualities.count(Quality.GOOD) == size
        and batch.causes.count(Cause.NONE) == size
        and batch.reasons.count("") == size
    )


def _chunk_end(
    db: sqlite3.Connection, table: str, column: str, point: int, before: int, limit: int
) -> int:
    """Exclusive bound below which at most ``limit`` rows of ``point`` lie (``before`` at most).

    Timestamps are unique per point (primary key), so the (limit+1)-th oldest one bounds
    exactly ``limit`` rows.
    """
    row = db.execute(
        f"SELECT {column} FROM {table} WHERE point = ? AND {column} < ?"
        f" ORDER BY {column} LIMIT 1 OFFSET ?",
        (point, before, limit),
    ).fetchone()
    return int(row[0]) if row else before


def _reading(
    machine: str,
    tag: str,
    ts: int,
    value: float | int | str | None,
    quality: str,
    cause: str,
    reason: str,
) -> Reading:
    return Reading.model_construct(
        machine=machine,
        tag=tag,
        source_ts=from_micros(ts),
        value=value,
        quality=Quality(quality),
        cause=Cause(cause),
        reason=reason,
    )


def _partial(
    count: int, good: int, numeric: int, total: float, lowest: float | None, high: float | None
) -> Partial:
    return Partial(count, good or 0, numeric or 0, total, lowest, high)


class SqliteHistorian:
    """The asyncio face of :class:`TelemetryStore`: each call runs in a worker thread.

    ``write``/``put`` are durable when they return; ``maintain(now)`` is meant to be called on
    a schedule (every ``historian.maintenance_interval_s``) by the composition root.
    """

    def __init__(
        self, path: Path, retention: Retention | None = None, *, chunk_rows: int = 10_000
    ) -> None:
        self.path = path
        self.store = TelemetryStore(path, retention, chunk_rows=chunk_rows)

    @classmethod
    def from_settings(cls, settings: HistorianSettings, data_dir: Path) -> SqliteHistorian:
        """The historian a site's ``[historian]`` section describes."""
        return cls(data_dir / settings.sqlite_file, Retention.from_settings(settings))

    async def write(self, readings: Sequence[Reading]) -> None:
        """Store a batch in one transaction."""
        if readings:
            await asyncio.to_thread(self.store.write, readings)

    async def put(self, readings: Sequence[Reading]) -> None:
        """ReadingSink: same as :meth:`write`."""
        await self.write(readings)

    async def query(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[Reading]:
        """Raw readings of ``machine/tag`` with ``start <= source_ts <= end``, oldest first."""
        return await asyncio.to_thread(self.store.query, machine, tag, start, end, limit)

    async def query_rows(
        self, machine: str, tag: str, start: datetime, end: datetime, limit: int = 10_000
    ) -> list[RawRow]:
        """:meth:`query` as stored rows, with no object per reading."""
        return await asyncio.to_thread(self.store.query_rows, machine, tag, start, end, limit)

    async def aggregate(
        self,
        machine: str,
        tag: str,
        start: datetime,
        end: datetime,
        interval_s: float,
        kind: Aggregate,
    ) -> list[AggregateValue]:
        """AggregateHistorian: see :meth:`TelemetryStore.aggregate`."""
        return await asyncio.to_thread(
            self.store.aggregate, machine, tag, start, end, interval_s, kind
        )

    async def maintain(self, now: datetime) -> MaintenanceReport:
        """Retention and rollup in bounded transactions; writes go on between them."""
        return await asyncio.to_thread(self.store.maintain, now)

    async def close(self) -> None:
        self.store.close()

    def count(self) -> int:
        """Raw readings stored."""
        return self.store.count()
