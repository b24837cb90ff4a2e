"""SQLite files that are on disk before a call returns: WAL, synchronous=FULL, one lock."""

# Every write is one IMMEDIATE transaction; with WAL and synchronous=FULL the commit fsyncs the
# log, so what a returned call wrote survives a kill -9 or a power cut. The connection is shared
# by threads under a lock, so async callers run the blocking calls with ``asyncio.to_thread``.

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from maintenance.errors import MaintenanceError
from models import SerializedStore, Synchronous, transaction

Params = Sequence[object]


class DurableFile(SerializedStore):
    """One SQLite file with ``schema`` applied (a ``SerializedStore`` that fsyncs every commit
    and reads rows as ``sqlite3.Row``); failures raise ``error`` with its advice."""

    def __init__(self, path: Path, schema: str, error: type[MaintenanceError]) -> None:
        label = str(path)
        super().__init__(path, schema, Synchronous.FULL, error=error, opened_as=label, label=label)
        self._db.row_factory = sqlite3.Row

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one IMMEDIATE transaction: committed on exit, else rolled back.

        sqlite3.IntegrityError passes through unchanged (callers turn a broken constraint into
        their own error); any other SQLite failure raises the file's error.
        """
        passing = (sqlite3.IntegrityError,)
        with self._lock, transaction(self._db, self._error, self._label, passing=passing) as db:
            yield db

    def rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """The rows a read-only query returns."""
        with self._read() as cursor:
            rows: list[sqlite3.Row] = cursor.execute(sql, params).fetchall()
            return rows
