"""Values clients write (such as AssetId), kept in a JSON file so they survive a restart."""

from __future__ import annotations

import json
import os
from pathlib import Path

from opcua_server.errors import ServerError


class PersistedValues:
    """A small key → text store, rewritten atomically (temp file, fsync, rename) on each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._values = self._load()

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ServerError(
                f"cannot read {self.path}: {error}",
                advice="restore the file from a backup or delete it to start with empty values",
            ) from error
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str, default: str = "") -> str:
        return self._values.get(key, default)

    def items(self) -> list[tuple[str, str]]:
        """Every key and value, in the order they were first set."""
        return list(self._values.items())

    def set(self, key: str, value: str) -> None:
        self._values[key] = value
        self._write()

    def delete(self, key: str) -> None:
        if self._values.pop(key, None) is not None:
            self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(self._values, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)
