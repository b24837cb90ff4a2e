"""The scheduled retrain asked to stop (the site stops) trains no group and says what each keeps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import SqliteHistorian
from maintenance.fleet_training import retrain_from_historian
from maintenance.model_store import ModelStore
from tests.unit.maintenance.scoring.scoring_kit import OPTIONS, machine

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_retrain_of_a_stopping_site_trains_nothing_and_says_so(tmp_path: Path) -> None:
    historian = SqliteHistorian(tmp_path / "telemetry.sqlite")
    store = ModelStore(tmp_path / "models")
    stopping = threading.Event()
    stopping.set()
    lines: list[str] = []
    try:
        outcomes = await retrain_from_historian(
            historian,
            [machine("mill-1")],
            [],
            store,
            start=datetime(1970, 1, 1, tzinfo=UTC),
            options=OPTIONS,
            progress=lines.append,
            stop=stopping,
        )
    finally:
        await historian.close()
    assert outcomes == []
    assert lines[-1] == "training stopped: shutting down; mill-1 keeps its current models"
    assert store.versions("rul-mill-1") == []
