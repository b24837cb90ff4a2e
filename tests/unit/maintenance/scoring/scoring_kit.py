"""Synthetic run-to-failure machines for the scoring tests: two signals, a wear ramp at the end."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from config.settings import MaintenanceSettings, SparePart
from maintenance.features import FloatArray
from maintenance.fleet_training import TIME, UNIT, RunTable, TrainingOptions
from maintenance.rul import RulSettings
from maintenance.scoring_groups import ScoredMachine
from maintenance.training import HistoryColumns
from models import HealthScore, Reading
from models.machines import Component, ComponentKind
from models.readings import good

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR_S = 3600.0
TAGS = ("bearing_temp", "vibration_rms")
WEAR_SAMPLES = 120
"""Samples before failure during which the signals drift."""
BEARING = Component(name="bearing", kind=ComponentKind.BEARING, mean_life_h=300.0)
SEAL = Component(name="seal", kind=ComponentKind.SEAL, mean_life_h=5000.0)
PART = SparePart(component="bearing", design_id="bearing-cage", print_hours=20, logistics_hours=10)
SETTINGS = MaintenanceSettings(
    scoring_interval_s=HOUR_S,
    min_duration_s=2 * HOUR_S,
    margin_h=10.0,
    rul_hysteresis_h=10.0,
    baseline_samples=120,
    spare_parts=(PART,),
)
OPTIONS = TrainingOptions(
    sample_interval_s=HOUR_S,
    window=30,
    long_window=90,  # short lives: the first full window comes after 90 samples, not 192
    rul=RulSettings(cap=100.0, use_age=False, folds=3, max_iter=60, min_samples_leaf=20),
)


def signals(length: int, rng: np.random.Generator, *, fails: bool = True) -> FloatArray:
    """``(length, 2)`` samples; a failing machine drifts over its last WEAR_SAMPLES samples."""
    noise = rng.normal(0.0, 1.0, size=(length, 2))
    base = np.array([50.0, 2.0]) + noise * np.array([0.5, 0.1])
    if fails:
        x = np.clip((np.arange(length) - (length - WEAR_SAMPLES)) / WEAR_SAMPLES, 0.0, None)
        base += np.outer(x**2, [8.0, 6.0])
    return np.asarray(base, dtype=np.float64)


def training_table(units: int = 12, seed: int = 1) -> RunTable:
    rng = np.random.default_rng(seed)
    frames = []
    for unit in range(units):
        length = int(rng.integers(220, 320))
        frame = pd.DataFrame(signals(length, rng), columns=list(TAGS))
        frame.insert(0, TIME, np.arange(length))
        frame.insert(0, UNIT, f"u{unit}")
        frames.append(frame)
    return RunTable(pd.concat(frames, ignore_index=True), HistoryColumns(UNIT, TIME, (), TAGS))


def machine(machine_id: str, tags: tuple[str, ...] = TAGS) -> ScoredMachine:
    return ScoredMachine(machine_id, tags, (BEARING, SEAL))


def hour(index: int) -> datetime:
    return T0 + timedelta(hours=index)


def readings_at(index: int, samples: dict[str, np.ndarray]) -> list[Reading]:
    """The ``index``-th sample of every machine as Good readings, one per tag."""
    return [
        good(machine_id, tag, hour(index), float(series[index, column]))
        for machine_id, series in samples.items()
        for column, tag in enumerate(TAGS)
    ]


def stored_scores(path: Path, machine_id: str) -> list[tuple[HealthScore, str]]:
    """The scores a ScoreHistory file holds for one machine, oldest first, with their component."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT body, component FROM health_scores WHERE machine = ? ORDER BY ts_us",
            (machine_id,),
        ).fetchall()
    return [(HealthScore.model_validate_json(body), component) for body, component in rows]
