"""A C-MAPSS slice written as a run-to-failure CSV → training → model store → ScoringService."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from config.settings import MaintenanceSettings
from connectors.simulated import ManualClock
from maintenance.datasets import CMAPSS_SENSORS, CMAPSS_SETTINGS, read_cmapss
from maintenance.fleet_training import TrainingOptions, train_from_file
from maintenance.model_store import ModelStore
from maintenance.rul import RulSettings
from maintenance.scoring import ScoringService
from maintenance.scoring_groups import ScoredMachine
from models.readings import good

pytestmark = pytest.mark.asyncio(loop_scope="session")

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "cmapss"
TAGS = (*CMAPSS_SETTINGS, *CMAPSS_SENSORS)
T0 = datetime(2026, 5, 1, tzinfo=UTC)
CYCLE_S = 3600.0
"""One C-MAPSS cycle is one sample an hour apart, so RUL hours equal cycles."""
ENGINES = (3, 7, 8)
"""Test units with more cycles (126, 160, 166) than the features' longest window (90)."""


async def test_a_model_trained_from_a_csv_scores_replayed_engines(tmp_path: Path) -> None:
    subset = read_cmapss(DATA, "FD001")
    train = subset.train[subset.train["unit"] <= 20]
    csv = tmp_path / "fd001.csv"
    train.rename(columns={"cycle": "time"}).to_csv(csv, index=False)
    store = ModelStore(tmp_path / "models")
    lines: list[str] = []
    options = TrainingOptions(
        sample_interval_s=CYCLE_S,
        window=30,
        long_window=90,
        rul=RulSettings(folds=3, max_iter=60, min_samples_leaf=30),
    )
    # scoring names a group's models after its first machine id: engine-3 here
    report = await train_from_file(
        csv, "engine-3", store, options=options, progress=lines.append, settings=CMAPSS_SETTINGS
    )
    assert report.units == 20
    assert report.rul_model == "rul-engine-3 v1"
    assert 0 < report.evaluation.rmse < 40
    assert any("held-out" in line for line in lines)

    clock = ManualClock(T0)
    machines = [ScoredMachine(f"engine-{n}", TAGS) for n in ENGINES]
    service = ScoringService(machines, store, MaintenanceSettings(), clock)
    test = subset.test
    series = {n: test[test["unit"] == n][list(TAGS)].to_numpy() for n in ENGINES}
    cycles = min(len(s) for s in series.values())
    scores = []
    for index in range(cycles):
        clock.set(T0 + timedelta(seconds=CYCLE_S * index))
        await service.put(
            [
                good(f"engine-{n}", tag, clock.now(), float(series[n][index, column]))
                for n in ENGINES
                for column, tag in enumerate(TAGS)
            ]
        )
        scores = await service.tick()
    assert [s.machine for s in scores] == [f"engine-{n}" for n in ENGINES]
    assert all(s.rul is not None and s.rul_low is not None for s in scores)
    assert all(s.rul_low <= s.rul <= s.rul_high for s in scores)  # type: ignore[operator]
    truth = np.array([subset.test_rul[n - 1] + len(series[n]) - cycles for n in ENGINES])
    predicted = np.array([s.rul for s in scores], dtype=np.float64)
    assert np.all(np.abs(predicted - np.minimum(truth, 125.0)) < 60.0)
