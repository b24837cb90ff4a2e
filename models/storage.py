"""SQLite failures every store shares: a rollback that keeps the real cause, and operator advice."""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
from pathlib import Path

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
