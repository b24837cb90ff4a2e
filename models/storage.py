"""SQLite as every store uses it: WAL files, transactions, failures named with operator advice."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from enum import StrEnum
from pathlib import Path

from models.errors import TrustfloorError

log = logging.getLogger(__name__)

_FULL = (
    "free space on the disk holding the data directory; what was accepted before is on disk, "
    "and pending work (orders, anchors, sink buffers) resumes by itself once writes succeed"
)
_READ_ONLY = (
    "the data directory or the file is not writable by this user: check its owner and "
    "permissions (trustfloor keeps the data directory 0700 for its own user)"
)
_CORRUPT = (
    "the file is damaged: stop trustfloor, keep a copy of the file, and restore it from a backup"
)
_LOCKED = "another process holds the file: run one trustfloor per data directory"

_ADVICE_BY_SQLITE_CODE = {
    sqlite3.SQLITE_FULL: _FULL,
    sqlite3.SQLITE_READONLY: _READ_ONLY,
    sqlite3.SQLITE_PERM: _READ_ONLY,
    sqlite3.SQLITE_CANTOPEN: _READ_ONLY,
    sqlite3.SQLITE_CORRUPT: _CORRUPT,
    sqlite3.SQLITE_NOTADB: _CORRUPT,
    sqlite3.SQLITE_BUSY: _LOCKED,
    sqlite3.SQLITE_LOCKED: _LOCKED,
}
_ADVICE_BY_ERRNO = {
    errno.ENOSPC: _FULL,
    errno.EDQUOT: _FULL,
    errno.EACCES: _READ_ONLY,
    errno.EPERM: _READ_ONLY,
    errno.EROFS: _READ_ONLY,
}


def storage_advice(failure: BaseException) -> str:
    """What an operator should do about a failed SQLite or file operation ("" when unknown)."""
    if isinstance(failure, sqlite3.Error):
        code = getattr(failure, "sqlite_errorcode", None)
        if code is not None:
            # An extended result code keeps the primary code in its low byte (SQLite rescode.html).
            return _ADVICE_BY_SQLITE_CODE.get(code & 0xFF, "")
    if isinstance(failure, OSError) and failure.errno is not None:
        return _ADVICE_BY_ERRNO.get(failure.errno, "")
    return ""


def rollback_quietly(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any, without hiding the error that caused it.

    SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR); an
    explicit ROLLBACK then fails with "cannot rollback - no transaction is active" and that second
    error would replace the real cause.
    """
    if not db.in_transaction:
        return
    try:
        db.execute("ROLLBACK")
    except sqlite3.Error as failure:
        log.debug("rollback after a failed transaction also failed: %s", failure)


class Synchronous(StrEnum):
    """How hard a WAL file presses its writes to disk (SQLite ``PRAGMA synchronous``)."""

    FULL = "FULL"
    """The log is fsynced at every commit: a returned write survives a power cut."""
    NORMAL = "NORMAL"
    """The log is fsynced at checkpoints: a returned write survives a process crash; a power
    cut may lose the last commits, never corrupt the file."""


def open_wal(
    path: Path,
    schema: str,
    synchronous: Synchronous,
    *,
    error: type[TrustfloorError],
    label: str,
    advice: str = "",
    busy_timeout_s: float = 5.0,
    exclusive: bool = False,
) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` (created with its folder), in WAL mode with
    ``schema`` applied in one transaction.

    The connection is in autocommit mode (callers open their own transactions) and may be
    shared by threads under the caller's lock. ``exclusive`` keeps the file locked by this
    process until the connection closes. A failure raises ``error`` ("cannot open ``label``")
    with ``advice``, or else with what :func:`storage_advice` says about the cause.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
        )
    except (OSError, sqlite3.Error) as failure:
        raise _cannot_open(error, label, advice, failure) from failure
    try:
        if exclusive:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous.value}")
        db.executescript(f"BEGIN IMMEDIATE;{schema}COMMIT;")
    except sqlite3.Error as failure:
        db.close()
        raise _cannot_open(error, label, advice, failure) from failure
    return db


def _cannot_open(
    error: type[TrustfloorError], label: str, advice: str, failure: BaseException
) -> TrustfloorError:
    return error(f"cannot open {label}: {failure}", advice=advice or storage_advice(failure))


@contextmanager
def failures_as(
    error: type[TrustfloorError],
    label: str,
    *,
    passing: tuple[type[sqlite3.Error], ...] = (),
) -> Iterator[None]:
    """Turn a SQLite failure inside the block into ``error`` ("``label``: cause") with advice.

    Failures of the ``passing`` types go through unchanged (a caller that turns a broken
    constraint into its own error asks for ``sqlite3.IntegrityError``).
    """
    try:
        yield
    except passing:
        raise
    except sqlite3.Error as failure:
        raise error(f"{label}: {failure}", advice=storage_advice(failure)) from failure


@contextmanager
def transaction(
    db: sqlite3.Connection,
    error: type[TrustfloorError],
    label: str,
    *,
    immediate: bool = True,
    passing: tuple[type[sqlite3.Error], ...] = (),
) -> Iterator[sqlite3.Connection]:
    """``db`` inside one transaction: committed when the block ends, rolled back on any error.

    ``immediate`` takes the write lock at BEGIN (writers); without it the transaction is a
    consistent read snapshot until its first write. SQLite failures raise as
    :func:`failures_as` says; the caller holds whatever lock guards ``db``.
    """
    with failures_as(error, label, passing=passing):
        db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield db
            db.execute("COMMIT")
        except BaseException:
            rollback_quietly(db)
            raise


class SerializedStore:
    """One SQLite file (WAL, its schema applied) shared by threads under one lock: writes in
    one IMMEDIATE transaction each, reads under the same lock, every SQLite failure raised as
    the store's own ``error`` naming ``label``. Async callers run its calls in a thread."""

    def __init__(
        self,
        path: Path,
        schema: str,
        synchronous: Synchronous,
        *,
        error: type[TrustfloorError],
        opened_as: str,
        label: str,
    ) -> None:
        self.path = path
        self._error = error
        self._label = label
        self._lock = threading.Lock()
        self._db = open_wal(path, schema, synchronous, error=error, label=opened_as)

    def close(self) -> None:
        """Close the database; every acknowledged write is already on disk."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Cursor]:
        """One immediate transaction, committed (and fsynced) on success, rolled back on error."""
        with (
            self._lock,
            transaction(self._db, self._error, self._label) as db,
            closing(db.cursor()) as cursor,
        ):
            yield cursor

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Cursor]:
        """A cursor for reads, under the store's lock."""
        with (
            self._lock,
            failures_as(self._error, self._label),
            closing(self._db.cursor()) as cursor,
        ):
            yield cursor


PRIVATE_DIR_MODE = 0o700
"""The data directory holds keys, passwords' audit trail and every store: its owner only."""


def make_private_dir(path: Path) -> bool:
    """Create ``path`` readable by its owner only, or tighten it; True when it was looser.

    Also sets the process umask to 077, so every file trustfloor creates afterwards (stores,
    audit log, spools, keys) is readable by its owner only.
    """
    os.umask(0o077)
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    looser = stat.S_IMODE(path.stat().st_mode) & ~PRIVATE_DIR_MODE != 0
    if looser:
        path.chmod(PRIVATE_DIR_MODE)
    return looser
