"""`trustfloor train` keeps the RUL horizon a duration, whatever the site's scoring interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from config import MaintenanceSettings, Settings
from maintenance.fleet_training import (
    TIME,
    UNIT,
    TrainingOptions,
    read_run_to_failure,
    site_training_options,
    train_table,
)
from maintenance.model_store import ModelStore
from maintenance.scoring_groups import load_group_models, machine_groups
from tests.unit.maintenance.scoring.scoring_kit import TAGS, machine, signals

HALF_HOUR_S = 1800.0


@pytest.mark.parametrize(("interval_s", "cap"), [(3600.0, 300.0), (60.0, 18_000.0)])
def test_the_site_rul_cap_is_300_hours_at_any_sampling(interval_s: float, cap: float) -> None:
    options = TrainingOptions.for_site(interval_s)
    assert options.rul.cap == cap
    assert options.rul.cap * interval_s / 3600.0 == 300.0


def half_hour_runs(path: Path, units: int = 8) -> None:
    """Runs to failure sampled every half hour, each longer than 300 h (600 samples)."""
    rng = np.random.default_rng(3)
    frames = []
    for unit in range(units):
        length = int(rng.integers(800, 900))
        frame = pd.DataFrame(signals(length, rng), columns=list(TAGS))
        frame.insert(0, TIME, np.arange(length))
        frame.insert(0, UNIT, f"u{unit}")
        frames.append(frame)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)


def test_train_at_the_site_scoring_interval_caps_rul_at_300_hours(tmp_path: Path) -> None:
    csv = tmp_path / "mill.csv"
    half_hour_runs(csv)
    settings = Settings(maintenance=MaintenanceSettings(scoring_interval_s=HALF_HOUR_S))
    options = site_training_options(settings)  # what `trustfloor train` uses
    store = ModelStore(tmp_path / "models")
    train_table(read_run_to_failure(csv), "mill", store, options, lambda _: None)
    group = machine_groups([machine("mill", TAGS)])[0]
    models = load_group_models(store, group)
    assert models is not None
    assert models.rul is not None
    assert models.sample_interval_s == HALF_HOUR_S
    assert models.rul.settings.cap * HALF_HOUR_S / 3600.0 == 300.0  # was 300 samples: 150 h
