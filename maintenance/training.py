"""Training from history tables: one row per (unit, time), one column per tag."""

# These helpers turn a table into the scoring path's inputs (windows of raw tags) and train the
# models on the features the scoring path will compute, so a model never meets features at scoring
# time that were computed differently from the ones it learnt.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from maintenance.anomaly import AnomalyScorer, AnomalySettings, fit_anomaly_scorer
from maintenance.datasets import remaining_life
from maintenance.errors import TrainingDataError
from maintenance.features import (
    FloatArray,
    UnitWindows,
    Window,
    default_windows,
    latest_windows,
    level_windows,
    run_to_failure_features,
)
from maintenance.pipeline import FeaturePipeline
from maintenance.rul import RulModel, RulSettings, fit_rul_model
from maintenance.training_stop import StopSignal, check_stop


@dataclass(frozen=True)
class HistoryColumns:
    """Which columns of a history table are the unit, the time, the settings and the sensors."""

    unit: str
    time: str
    conditions: tuple[str, ...]
    sensors: tuple[str, ...]

    @property
    def inputs(self) -> tuple[str, ...]:
        """Raw tag columns, in the order the pipeline takes them."""
        return self.conditions + self.sensors


def fit_pipeline(
    frame: pd.DataFrame,
    columns: HistoryColumns,
    *,
    windows: Sequence[Window] | None = None,
    n_conditions: int = 1,
    seed: int = 0,
) -> FeaturePipeline:
    """Learn operating conditions and informative sensors from a history table."""
    return FeaturePipeline.fit(
        frame[list(columns.inputs)].to_numpy(dtype=np.float64),
        condition_tags=columns.conditions,
        sensor_tags=columns.sensors,
        windows=tuple(windows or default_windows()),
        n_conditions=n_conditions,
        seed=seed,
    )


def history_features(
    frame: pd.DataFrame, columns: HistoryColumns, pipeline: FeaturePipeline
) -> pd.DataFrame:
    """Pipeline features at every row, indexed by ``(unit, time)`` in sorted order."""
    return run_to_failure_features(
        frame,
        unit_column=columns.unit,
        time_column=columns.time,
        columns=columns.inputs,
        spec=pipeline.spec,
        prepare=pipeline.prepare,
    )


def unit_windows(
    frame: pd.DataFrame, columns: HistoryColumns, pipeline: FeaturePipeline
) -> UnitWindows:
    """What the scoring buffer would hold for each unit after its last row."""
    return latest_windows(
        frame,
        unit_column=columns.unit,
        time_column=columns.time,
        columns=pipeline.input_tags,
        history=pipeline.history,
    )


def train_rul_model(
    frame: pd.DataFrame,
    columns: HistoryColumns,
    *,
    windows: Sequence[Window] | None = None,
    n_conditions: int = 1,
    settings: RulSettings | None = None,
    stop: StopSignal | None = None,
) -> RulModel:
    """Fit pipeline and RUL model on run-to-failure histories (each unit ends in failure).

    The machine's age is the time column (samples since the unit was new). ``stop`` is checked
    before the features and before each of the RUL model's fits.
    """
    settings = settings or RulSettings()
    check_stop(stop, "the feature pipeline")
    pipeline = fit_pipeline(
        frame, columns, windows=windows, n_conditions=n_conditions, seed=settings.seed
    )
    features = history_features(frame, columns, pipeline)
    ordered = features.index.to_frame(index=False)
    rul = remaining_life(ordered, unit_column=columns.unit, time_column=columns.time)
    kept = _full_windows(features, pipeline.history) if settings.full_windows_only else slice(None)
    return fit_rul_model(
        pipeline,
        features.to_numpy()[kept],
        rul=rul[kept],
        groups=ordered[columns.unit].to_numpy()[kept],
        age=ordered[columns.time].to_numpy(dtype=np.float64)[kept],
        settings=settings,
        stop=stop,
    )


def _full_windows(features: pd.DataFrame, history: int) -> npt.NDArray[np.bool_]:
    """Rows with at least ``history`` samples of their unit up to them (a full window)."""
    position = features.groupby(level=0).cumcount().to_numpy() + 1
    full = position >= history
    if not full.any():
        raise TrainingDataError(f"no unit has the {history} samples a full window needs")
    return np.asarray(full)


def anomaly_pipeline(pipeline: FeaturePipeline) -> FeaturePipeline:
    """``pipeline`` with the level statistics over its shortest and longest window."""
    shortest = min(window.length for window in pipeline.spec.windows)
    if shortest >= pipeline.history:
        return pipeline
    return pipeline.with_windows(level_windows(shortest, pipeline.history))


def train_anomaly_scorer(
    baseline: pd.DataFrame,
    columns: HistoryColumns,
    pipeline: FeaturePipeline,
    *,
    settings: AnomalySettings | None = None,
    min_history: int | None = None,
) -> AnomalyScorer:
    """Fit the anomaly scorer on a healthy baseline period of each unit.

    The scorer reads the level statistics of ``pipeline`` (:func:`anomaly_pipeline`), not its
    trend ladder. Rows whose window is not yet full (fewer than ``min_history`` samples, the
    pipeline's history by default) are left out, so partial windows do not widen what counts as
    normal.
    """
    pipeline = anomaly_pipeline(pipeline)
    features = history_features(baseline, columns, pipeline)
    needed = pipeline.history if min_history is None else min_history
    full = _full_windows(features, needed)
    return fit_anomaly_scorer(pipeline, features.to_numpy()[full], settings)


def ages_of(windows: UnitWindows) -> FloatArray:
    """Each unit's age for the RUL model: its time at the last sample."""
    return windows.last_time
