"""SQLite files that are on disk before a call returns: WAL, synchronous=FULL, one lock."""

# Every write is one IMMEDIATE transaction; with WAL and synchronous=FULL the commit fsyncs the
# log, so what a returned call wrote survives a kill -9 or a power cut. The connection is shared
# by threads under a lock, so async callers run the blocking calls with ``asyncio.to_thread``.

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maintenance.errors import MaintenanceError
from models.storage import rollback_quietly, storage_advice

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Params = Sequence[object]


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch of an aware timestamp."""
    return (ts - _EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    """The aware UTC timestamp ``micros`` microseconds after the Unix epoch."""
    return _EPOCH + timedelta(microseconds=micros)


class DurableFile:
    """One SQLite file with ``schema`` applied; failures raise ``error`` with its advice."""

    def __init__(self, path: Path, schema: str, error: type[MaintenanceError]) -> None:
        self.path = path
        self._error = error
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(schema)
        except (OSError, sqlite3.Error) as failure:
            raise error(f"cannot open {path}: {failure}") from failure

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one IMMEDIATE transaction: committed on exit, else rolled back.

        sqlite3.IntegrityError passes through unchanged (callers turn a broken constraint into
        their own error); any other SQLite failure raises the file's error.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as failure:
                raise self._failure(failure) from failure
            try:
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                rollback_quietly(self._db)
                raise
            except sqlite3.Error as failure:
                rollback_quietly(self._db)
                raise self._failure(failure) from failure
            except BaseException:
                rollback_quietly(self._db)
                raise

    def _failure(self, failure: sqlite3.Error) -> MaintenanceError:
        """The file's error for a failed SQLite call, naming the cause and what to do."""
        return self._error(f"{self.path}: {failure}", advice=storage_advice(failure))

    def rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """The rows a read-only query returns."""
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as failure:
                raise self._failure(failure) from failure

    def close(self) -> None:
        with self._lock:
            self._db.close()
