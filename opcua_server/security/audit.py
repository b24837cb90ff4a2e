"""Audit log of every login, method call and write: who, what, when, result (JSON, fsynced)."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

MAX_DETAIL = 500


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited action."""

    ts: str
    user: str
    role: str
    action: str
    target: str
    detail: str
    result: str


class AuditLog:
    """Appends one JSON object per line to ``path``; each entry is on disk before it returns."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()

    def record(
        self, *, user: str, role: str, action: str, target: str, detail: str, result: str
    ) -> AuditEntry:
        entry = AuditEntry(
            ts=datetime.now(UTC).isoformat(),
            user=user,
            role=role,
            action=action,
            target=target,
            detail=detail[:MAX_DETAIL],
            result=result,
        )
        line = json.dumps(asdict(entry), ensure_ascii=False) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        return entry

    def entries(self) -> list[AuditEntry]:
        """Every entry so far, oldest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as handle:
            return [AuditEntry(**json.loads(line)) for line in handle if line.strip()]
