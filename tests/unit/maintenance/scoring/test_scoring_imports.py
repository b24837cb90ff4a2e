"""Scoring stored models, as the running site does, loads neither scikit-learn, SciPy nor pandas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from maintenance.fleet_training import train_table
from maintenance.model_store import ModelStore
from tests.support import REPO
from tests.unit.maintenance.scoring.scoring_kit import OPTIONS, training_table

TRAINING_LIBRARIES = ("sklearn", "scipy", "pandas")

SITE_SCORING = """
import asyncio, json, sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

import opcua_server.runtime.site  # what `trustfloor serve` imports
from config import MaintenanceSettings
from maintenance import ModelStore, ScoredMachine, ScoringService
from models import Component, ComponentKind, ManualClock
from models.readings import good

TAGS = ("bearing_temp", "vibration_rms")


async def main() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clock = ManualClock(start)
    bearing = Component(name="bearing", kind=ComponentKind.BEARING, mean_life_h=300.0)
    machine = ScoredMachine("deg-1", TAGS, (bearing,))
    settings = MaintenanceSettings(scoring_interval_s=3600.0)
    service = ScoringService([machine], ModelStore(Path(sys.argv[1])), settings, clock)
    rng = np.random.default_rng(5)
    scores = []
    for hour in range(100):
        clock.set(start + timedelta(hours=hour))
        values = (50.0 + rng.normal(0.0, 0.5), 2.0 + rng.normal(0.0, 0.1))
        await service.put([good("deg-1", t, clock.now(), float(v)) for t, v in zip(TAGS, values)])
        scores += await service.tick()
    loaded = [name for name in sys.argv[2:] if name in sys.modules]
    print(json.dumps({"rul": [s.rul for s in scores], "version": scores[-1].model_version,
                      "loaded": loaded}))


asyncio.run(main())
"""


def test_the_site_scores_stored_models_without_the_training_libraries(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    train_table(training_table(units=8), "deg-1", store, OPTIONS, lambda line: None)
    child = subprocess.run(
        [sys.executable, "-c", SITE_SCORING, str(tmp_path), *TRAINING_LIBRARIES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    result = json.loads(child.stdout.splitlines()[-1])
    assert result["version"] == "anomaly-deg-1 v1 + rul-deg-1 v1"
    assert any(rul is not None for rul in result["rul"])
    assert result["loaded"] == []
