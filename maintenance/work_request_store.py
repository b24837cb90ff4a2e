"""The work-request store: every work request and its closure in one durable SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from maintenance.durable import DurableFile
from maintenance.work_requests import WorkRequest, WorkRequestError, WorkRequestStatus
from models import NotFoundError, to_micros

_SCHEMA = """
CREATE TABLE IF NOT EXISTS work_requests (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL UNIQUE,
    asset TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS work_requests_by_status ON work_requests (status, id);
"""


class WorkRequestStoreError(WorkRequestError):
    """The work-request file cannot be opened or written."""

    advice = "check that the data directory is writable and work_requests.sqlite is not corrupt"


class UnknownWorkRequestError(WorkRequestError, NotFoundError):
    """No work request has the id asked for."""

    advice = "list work requests with `trustfloor maintenance list` and use an existing id"


class WorkRequestStore:
    """Every work request, durable when a call returns (thread-safe; blocking calls)."""

    def __init__(self, path: Path) -> None:
        self._file = DurableFile(path, _SCHEMA, WorkRequestStoreError)

    def add(self, request: WorkRequest) -> bool:
        """Store a new request; False when its alert already has one (nothing changes)."""
        try:
            with self._file.transaction() as db:
                db.execute(
                    "INSERT INTO work_requests (id, alert_id, asset, status, updated_us, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        request.id,
                        request.alert_id,
                        request.asset,
                        request.status.value,
                        to_micros(request.updated_at),
                        request.model_dump_json(),
                    ),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def save(self, request: WorkRequest) -> WorkRequest:
        """Store a changed request (it must exist)."""
        with self._file.transaction() as db:
            changed = db.execute(
                "UPDATE work_requests SET status = ?, updated_us = ?, body = ? WHERE id = ?",
                (
                    request.status.value,
                    to_micros(request.updated_at),
                    request.model_dump_json(),
                    request.id,
                ),
            ).rowcount
        if not changed:
            raise UnknownWorkRequestError(f"no work request {request.id!r}")
        return request

    def get(self, request_id: str) -> WorkRequest:
        rows = self._file.rows("SELECT body FROM work_requests WHERE id = ?", (request_id,))
        if not rows:
            raise UnknownWorkRequestError(f"no work request {request_id!r}")
        return WorkRequest.model_validate_json(rows[0]["body"])

    def find(self, request_id: str) -> WorkRequest | None:
        rows = self._file.rows("SELECT body FROM work_requests WHERE id = ?", (request_id,))
        return WorkRequest.model_validate_json(rows[0]["body"]) if rows else None

    def all(self, status: WorkRequestStatus | None = None) -> list[WorkRequest]:
        """Every request (only those in ``status`` when given), oldest first."""
        where, params = ("WHERE status = ?", (status.value,)) if status else ("", ())
        rows = self._file.rows(f"SELECT body FROM work_requests {where} ORDER BY id", params)
        return [WorkRequest.model_validate_json(row["body"]) for row in rows]

    def closed(self) -> list[WorkRequest]:
        """Closed requests with their closures: the site's training labels."""
        return [r for r in self.all(WorkRequestStatus.CLOSED) if r.closure is not None]

    def close(self) -> None:
        self._file.close()
