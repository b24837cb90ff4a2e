"""Store-and-forward spool: an append-only SQLite queue of lines with a delivery cursor."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, closing
from dataclasses import dataclass
from pathlib import Path

from connectors.historian.errors import SpoolError, SpoolFullError
from models import Synchronous, open_wal, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    lines INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    acked INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    lines INTEGER NOT NULL,
    body BLOB NOT NULL,
    error TEXT NOT NULL
);
INSERT OR IGNORE INTO cursor (id, acked) VALUES (1, 0);
"""


@dataclass(frozen=True, slots=True)
class SpoolBatch:
    """Consecutive undelivered chunks ``first_seq..last_seq`` (one per append), oldest first."""

    first_seq: int
    last_seq: int
    chunks: list[bytes]
    lines: int

    @property
    def body(self) -> bytes:
        """Every line of the batch, newline-separated, in append order."""
        return b"\n".join(self.chunks)

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


class Spool:
    """Lines appended durably, read in order after a cursor, removed once acknowledged.

    Each :meth:`append` stores its lines as one chunk (one row), so a put costs one insert and
    one fsync however many lines it holds.

    - Durable: WAL with ``synchronous=FULL``, so :meth:`append` returns only once the lines are
      on disk (the WAL is fsynced at commit); a kill -9 afterwards loses nothing, and a kill
      during it stores all of that append or none.
    - Ordered: sequence numbers only grow (AUTOINCREMENT never reuses one); :meth:`peek` returns
      the oldest chunks after the cursor. :meth:`ack` moves the cursor and deletes what it
      passed in one transaction, so a crash before it replays the batch (at least once).
    - Bounded by disk: at most ``max_bytes`` of undelivered line bytes; an :meth:`append`
      beyond that raises SpoolFullError and stores nothing of that call. Deleted pages are
      reused, so the file stays near the largest backlog it held (plus SQLite's page overhead).
    - Exclusive: one process at a time (SQLite exclusive locking mode); the OS releases the
      lock when the holder dies, even by kill -9.
    """

    def __init__(self, path: Path, max_bytes: int) -> None:
        if max_bytes < 1:
            raise ValueError("requires max_bytes >= 1")
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._db = open_wal(
            path,
            _SCHEMA,
            Synchronous.FULL,
            error=SpoolError,
            label=f"spool {path}",
            advice="another trustfloor process may own this spool; stop it or use another "
            "data_dir; otherwise check the disk and the file",
            busy_timeout_s=1.0,
            exclusive=True,
        )
        self._acked, self._pending, self._pending_bytes = self._load_state()

    @property
    def pending(self) -> int:
        """Lines appended and not yet acknowledged."""
        return self._pending

    @property
    def pending_bytes(self) -> int:
        """Bytes of the chunks appended and not yet acknowledged."""
        return self._pending_bytes

    @property
    def acked_seq(self) -> int:
        """The cursor: every chunk up to this sequence number was delivered."""
        return self._acked

    def append(self, lines: Sequence[bytes]) -> int:
        """Store ``lines`` (without newlines) as one chunk after the others, durably.

        Returns the chunk's sequence number (0 when ``lines`` is empty). Raises SpoolFullError,
        storing none of them, when they would take the undelivered bytes beyond ``max_bytes``.
        """
        if not lines:
            return 0
        body = b"\n".join(lines)
        with self._lock:
            if self._pending_bytes + len(body) > self.max_bytes:
                raise SpoolFullError(
                    f"spool {self.path} holds {self._pending_bytes} undelivered bytes; "
                    f"{len(lines)} lines ({len(body)} bytes) would exceed {self.max_bytes}"
                )
            with self._transaction() as db:
                seq = db.execute(
                    "INSERT INTO chunks (lines, body) VALUES (?, ?) RETURNING seq",
                    (len(lines), body),
                ).fetchone()[0]
            self._pending += len(lines)
            self._pending_bytes += len(body)
        return int(seq)

    def peek(self, max_lines: int) -> SpoolBatch | None:
        """The oldest undelivered chunks holding at most ``max_lines`` lines (at least one chunk).

        None when everything was delivered.
        """
        chunks: list[bytes] = []
        seqs: list[int] = []
        total = 0
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, lines, body FROM chunks WHERE seq > ? ORDER BY seq", (self._acked,)
            )
            with closing(rows):  # an unfinished SELECT would hold a read snapshot open
                for seq, lines, body in rows:
                    if chunks and total + lines > max_lines:
                        break
                    seqs.append(seq)
                    chunks.append(bytes(body))
                    total += lines
        return SpoolBatch(seqs[0], seqs[-1], chunks, total) if chunks else None

    def ack(self, batch: SpoolBatch) -> None:
        """The server accepted ``batch``: move the cursor past it and delete its chunks."""
        with self._lock:
            self._check_next(batch)
            with self._transaction() as db:
                _advance(db, batch)
            self._forget(batch)

    def reject(self, batch: SpoolBatch, error: str) -> None:
        """The server refused ``batch`` for good: keep it in ``rejected`` and move on."""
        with self._lock:
            self._check_next(batch)
            with self._transaction() as db:
                _set_aside(db, batch, error)
            self._forget(batch)

    def rejected(self) -> list[tuple[int, bytes, str]]:
        """Chunks the server refused, with the error it gave: (seq, body, error)."""
        with self._lock:
            rows = self._db.execute("SELECT seq, body, error FROM rejected ORDER BY seq")
            return [(seq, bytes(body), error) for seq, body, error in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _load_state(self) -> tuple[int, int, int]:
        acked = int(self._db.execute("SELECT acked FROM cursor").fetchone()[0])
        lines, size = self._db.execute(
            "SELECT coalesce(sum(lines), 0), coalesce(sum(length(body)), 0) FROM chunks"
            " WHERE seq > ?",
            (acked,),
        ).fetchone()
        return acked, int(lines), int(size)

    def _check_next(self, batch: SpoolBatch) -> None:
        if batch.first_seq <= self._acked or batch.last_seq < batch.first_seq:
            raise SpoolError(
                f"batch {batch.first_seq}..{batch.last_seq} is not after the cursor {self._acked}"
            )

    def _forget(self, batch: SpoolBatch) -> None:
        self._acked = batch.last_seq
        self._pending -= batch.lines
        self._pending_bytes -= batch.size

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error; SQLite errors become SpoolError."""
        return transaction(self._db, SpoolError, f"spool {self.path}")


def _advance(db: sqlite3.Connection, batch: SpoolBatch) -> None:
    db.execute("UPDATE cursor SET acked = ?", (batch.last_seq,))
    db.execute("DELETE FROM chunks WHERE seq <= ?", (batch.last_seq,))


def _set_aside(db: sqlite3.Connection, batch: SpoolBatch, error: str) -> None:
    db.execute(
        "INSERT OR REPLACE INTO rejected (seq, lines, body, error)"
        " SELECT seq, lines, body, ? FROM chunks WHERE seq BETWEEN ? AND ?",
        (error, batch.first_seq, batch.last_seq),
    )
    _advance(db, batch)
