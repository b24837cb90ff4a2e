"""The anomaly scorer ranks injected faults above healthy machines and names the faulty signal."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from maintenance.anomaly import AnomalyResult
from maintenance.datasets import CMAPSS_CYCLE, CMAPSS_UNIT
from maintenance.errors import FeatureInputError
from maintenance.features import FloatArray, latest_window
from tests.unit.maintenance.maintenance_kit import (
    BASELINE_MIN_HISTORY,
    TRAINING_UNITS,
    cmapss,
    healthy_rows,
    small_anomaly_scorer,
)

FAULTY_SAMPLES = 5
FAULT_SIZE = 6.0
"""Step added to the last samples, in standard deviations of the sensor in its condition."""


@cache
def healthy_held_out_windows() -> FloatArray:
    """Windows of healthy FD001 units the scorer never saw, as the scoring buffer holds them."""
    pipeline = small_anomaly_scorer().pipeline
    train = cmapss("FD001").train
    held_out = healthy_rows(train[train[CMAPSS_UNIT] > TRAINING_UNITS])
    windows = [
        latest_window(
            unit.sort_values(CMAPSS_CYCLE)[list(pipeline.input_tags)].to_numpy(), pipeline.history
        )
        for _, unit in held_out.groupby(CMAPSS_UNIT)
        if len(unit) >= BASELINE_MIN_HISTORY
    ]
    assert len(windows) >= 30
    return np.stack(windows)


def with_fault(windows: FloatArray, tag: str, sign: float) -> FloatArray:
    pipeline = small_anomaly_scorer().pipeline
    assert pipeline.normaliser is not None
    column = pipeline.input_tags.index(tag)
    kept = pipeline.spec.tags.index(tag)
    sigma = pipeline.normaliser.sensor_std[0, kept]
    faulty = windows.copy()
    faulty[:, -FAULTY_SAMPLES:, column] += sign * FAULT_SIZE * sigma
    return faulty


def test_healthy_machines_score_near_the_baseline_threshold() -> None:
    result = small_anomaly_scorer().score(healthy_held_out_windows())
    assert np.median(result.score) < 1.5
    assert np.quantile(result.score, 0.9) < 3.0


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["up", "down"])
@pytest.mark.parametrize("tag", ["sensor_4", "sensor_11", "sensor_20"])
def test_injected_step_outranks_every_healthy_machine_and_is_blamed(tag: str, sign: float) -> None:
    scorer = small_anomaly_scorer()
    healthy = scorer.score(healthy_held_out_windows())
    faulty = scorer.score(with_fault(healthy_held_out_windows(), tag, sign))
    assert faulty.score.min() > healthy.score.max()
    blamed = [faulty.top_signals(machine, 1)[0][0] for machine in range(len(faulty.score))]
    assert blamed.count(tag) == len(blamed)


def test_contributions_add_up_to_the_score() -> None:
    result = small_anomaly_scorer().score(healthy_held_out_windows())
    np.testing.assert_allclose(result.contributions.sum(axis=1), result.score)
    assert result.contributions.shape[1] == len(result.tags)


def test_a_missing_signal_does_not_raise_the_score() -> None:
    scorer = small_anomaly_scorer()
    windows = healthy_held_out_windows()
    holed = windows.copy()
    holed[:, :, scorer.pipeline.input_tags.index("sensor_4")] = np.nan
    complete = scorer.score(windows)
    missing = scorer.score(holed)
    assert np.isfinite(missing.score).all()
    column = complete.tags.index("sensor_4")
    assert (missing.contributions[:, column] == 0).all()


def test_features_of_another_pipeline_are_refused() -> None:
    with pytest.raises(FeatureInputError):
        small_anomaly_scorer().score_features(np.zeros((2, 7)))


def test_the_top_contributors_of_all_machines_match_each_machine_s_top_signals() -> None:
    rng = np.random.default_rng(2)
    contributions = rng.normal(size=(50, 6))
    contributions[0] = -1.0  # nothing contributes: no name
    tags = tuple(f"tag_{i}" for i in range(6))
    result = AnomalyResult(contributions.sum(axis=1), contributions, tags)
    each = [
        tuple(name for name, share in result.top_signals(row, 3) if share > 0) for row in range(50)
    ]
    assert result.top_contributors(3) == each
    assert each[0] == ()
