"""SQLite files that are on disk before a call returns: WAL, synchronous=FULL, one lock."""

# Every write is one IMMEDIATE transaction; with WAL and synchronous=FULL the commit fsyncs the
# log, so what a returned call wrote survives a kill -9 or a power cut. The connection is shared
# by threads under a lock, so async callers run the blocking calls with ``asyncio.to_thread``.

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from maintenance.errors import MaintenanceError
from models import Synchronous, failures_as, open_wal, transaction

Params = Sequence[object]


class DurableFile:
    """One SQLite file with ``schema`` applied; failures raise ``error`` with its advice."""

    def __init__(self, path: Path, schema: str, error: type[MaintenanceError]) -> None:
        self.path = path
        self._error = error
        self._lock = threading.Lock()
        self._db = open_wal(path, schema, Synchronous.FULL, error=error, label=str(path))
        self._db.row_factory = sqlite3.Row

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one IMMEDIATE transaction: committed on exit, else rolled back.

        sqlite3.IntegrityError passes through unchanged (callers turn a broken constraint into
        their own error); any other SQLite failure raises the file's error.
        """
        with (
            self._lock,
            transaction(
                self._db, self._error, str(self.path), passing=(sqlite3.IntegrityError,)
            ) as db,
        ):
            yield db

    def rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """The rows a read-only query returns."""
        with self._lock, failures_as(self._error, str(self.path)):
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
