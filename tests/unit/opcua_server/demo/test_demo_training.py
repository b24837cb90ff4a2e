"""The demo's training gives up when the site stops, and says what each machine type keeps."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import load_demo_settings
from connectors.simulated import ManualClock
from maintenance import ModelStore, ScoringService, scored_machines
from opcua_server.demo.actors import train_demo_models

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_stopping_site_trains_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_demo_settings(tmp_path / "var", check_secrets=False)
    store = ModelStore(tmp_path / "models")
    clock = ManualClock(datetime(2026, 5, 4, tzinfo=UTC))
    scoring = ScoringService(scored_machines(settings.site), store, settings.maintenance, clock)
    stopping = threading.Event()
    stopping.set()
    with caplog.at_level(logging.INFO, logger="opcua_server.demo.actors"):
        await train_demo_models(settings.site, settings, store, scoring, stopping)
    stopped = [r.getMessage() for r in caplog.records if "training stopped" in r.getMessage()]
    assert stopped == ["demo: training stopped: shutting down; mill-1 keeps none (no models yet)"]
    assert not store.root.exists() or not any(store.root.iterdir())
