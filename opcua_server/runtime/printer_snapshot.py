"""What the site's printers show, written to the data directory every few seconds and read back."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors import OpcUaPrinterControl
from models import Clock, TrustfloorError

SNAPSHOT_FILE = "printers.json"
"""Under the data directory: the last printer snapshot the running site wrote."""
SNAPSHOT_EVERY_S = 5.0
STALE_AFTER_S = 6 * SNAPSHOT_EVERY_S
"""A snapshot older than this was not written by a running site (or the site is stuck); a
busy site's periodic jobs run seconds late, so it leaves them a margin."""
UNREACHABLE = "Unreachable"
"""``state`` of a printer whose OPC UA server does not answer."""


class NoPrinterSnapshotError(TrustfloorError):
    """The data directory holds no printer snapshot: no site has run there."""


async def printer_row(control: OpcUaPrinterControl) -> dict[str, Any]:
    """One printer as ``trustfloor printers`` shows it: its link, job and health."""
    row: dict[str, Any] = {
        "id": control.printer_id,
        "endpoint": control.endpoint,
        "security_mode": control.security_mode.value,
    }
    try:
        status = await control.status()
    except TrustfloorError as down:
        return row | {
            "state": UNREACHABLE,
            "job": "",
            "layer": 0,
            "layers_planned": 0,
            "material_lot": "",
            "health": {"state": UNREACHABLE, "alarms": [], "reason": str(down)},
        }
    return row | {
        "state": status.job_state.value,
        "job": status.job_id,
        "layer": status.current_layer,
        "layers_planned": status.layers_planned,
        "material_lot": status.material_lot,
        "health": {
            "state": status.job_state.value,
            "alarms": list(status.alarms),
            "reason": status.reason,
        },
    }


class PrinterSnapshots:
    """Writes ``{"written_at": ..., "printers": [...]}`` to ``<data_dir>/printers.json``."""

    def __init__(
        self, printers: Mapping[str, OpcUaPrinterControl], data_dir: Path, clock: Clock
    ) -> None:
        self._printers = printers
        self._path = data_dir / SNAPSHOT_FILE
        self._clock = clock

    async def tick(self) -> None:
        """Take and write one snapshot (a periodic job)."""
        rows = [await printer_row(control) for _, control in sorted(self._printers.items())]
        snapshot = {"written_at": self._clock.now().isoformat(), "printers": rows}
        await asyncio.to_thread(_write_atomically, self._path, json.dumps(snapshot, indent=2))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(".json.partial")
    partial.write_text(text + "\n", encoding="utf-8")
    partial.chmod(0o600)
    os.replace(partial, path)


def read_snapshot(data_dir: Path, now: datetime) -> dict[str, Any]:
    """The last snapshot with ``stale`` (older than STALE_AFTER_S) and ``age_s`` added."""
    path = data_dir / SNAPSHOT_FILE
    try:
        snapshot: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        written = datetime.fromisoformat(snapshot["written_at"])
    except FileNotFoundError:
        raise NoPrinterSnapshotError(
            f"no printer snapshot in {data_dir}",
            advice="start the site (trustfloor serve or demo) with this data directory",
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise NoPrinterSnapshotError(
            f"{path} is not a printer snapshot ({error})",
            advice="let the running site write it again (every few seconds)",
        ) from error
    age = (now - written).total_seconds()
    return snapshot | {"age_s": round(age, 1), "stale": age > STALE_AFTER_S}
