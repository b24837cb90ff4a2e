"""Test helper process: runs historian maintenance and SIGKILLs itself in the middle of a chunk."""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from connectors.historian import Retention, TelemetryStore

RETENTION = Retention(raw_s=100.0, rollup_interval_s=10, aggregate_s=1e9)
CHUNK_ROWS = 50


def open_store(path: Path) -> TelemetryStore:
    return TelemetryStore(path, RETENTION, chunk_rows=CHUNK_ROWS)


def maintain_and_die(path: Path, now: datetime, commits_before_kill: int) -> None:
    """After ``commits_before_kill`` commits, die as the next chunk starts deleting raw rows.

    That chunk has already added its rows to the rollups, uncommitted: the worst moment.
    """
    store = open_store(path)
    commits = 0

    def on_statement(sql: str) -> None:
        nonlocal commits
        commits += sql.strip().upper() == "COMMIT"
        if commits >= commits_before_kill and sql.lstrip().startswith("DELETE FROM readings"):
            os.kill(os.getpid(), signal.SIGKILL)

    store._db.set_trace_callback(on_statement)  # the seam: SQLite's trace hook on its connection
    store.maintain(now)
    print("maintenance finished without being killed", flush=True)


if __name__ == "__main__":
    maintain_and_die(Path(sys.argv[1]), datetime.fromisoformat(sys.argv[2]), int(sys.argv[3]))
