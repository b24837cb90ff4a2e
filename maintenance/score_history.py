"""The health score history: every score a tick makes, with its component, in SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from maintenance.durable import DurableFile
from maintenance.errors import MaintenanceError
from models import HealthScore, to_micros

_HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS health_scores (
    machine TEXT NOT NULL,
    component TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (machine, ts_us)
) WITHOUT ROWID;
"""


class ScoreHistoryError(MaintenanceError):
    """The health score history cannot be opened or written."""

    advice = "check that the data directory is writable and health.sqlite is not corrupt"


class ScoreHistory:
    """Every health score in SQLite (``<data_dir>/health.sqlite``), one row per machine and time."""

    def __init__(self, path: Path) -> None:
        self._file = DurableFile(path, _HISTORY_SCHEMA, ScoreHistoryError)

    def append(self, scores: Sequence[tuple[HealthScore, str]]) -> None:
        """Store a tick's ``(score, component)`` pairs; a repeated (machine, ts) is kept once."""
        rows = [(s.machine, c, to_micros(s.ts), s.model_dump_json()) for s, c in scores]
        with self._file.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO health_scores VALUES (?, ?, ?, ?)", rows)

    def close(self) -> None:
        self._file.close()
