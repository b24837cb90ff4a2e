"""Shared data and small trained models for the maintenance unit tests (cached per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from maintenance.anomaly import AnomalyScorer
from maintenance.datasets import (
    CMAPSS_CYCLE,
    CMAPSS_SENSORS,
    CMAPSS_SETTINGS,
    CMAPSS_UNIT,
    CmapssSubset,
    read_cmapss,
    remaining_life,
)
from maintenance.rul import RulModel, RulSettings
from maintenance.training import HistoryColumns, train_anomaly_scorer, train_rul_model

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
CMAPSS = DATA / "cmapss"
COLUMNS = HistoryColumns(CMAPSS_UNIT, CMAPSS_CYCLE, CMAPSS_SETTINGS, CMAPSS_SENSORS)
TRAINING_UNITS = 40
BASELINE_MIN_HISTORY = 30
SMALL_RUL = RulSettings(folds=3, max_iter=60, learning_rate=0.1)


@cache
def cmapss(subset: str) -> CmapssSubset:
    assert CMAPSS.is_dir(), f"the C-MAPSS data must be at {CMAPSS} (../shared/data/cmapss)"
    return read_cmapss(CMAPSS, subset)


def first_units(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    units = np.sort(frame[CMAPSS_UNIT].unique())[:count]
    return frame[frame[CMAPSS_UNIT].isin(units)]


@cache
def small_rul_model() -> RulModel:
    """RUL model trained on the first 40 FD001 training units with few trees."""
    with threadpool_limits(limits=1):  # OpenMP threads slow training 4-6x on 2 busy cores
        return train_rul_model(
            first_units(cmapss("FD001").train, TRAINING_UNITS), COLUMNS, settings=SMALL_RUL
        )


def healthy_rows(frame: pd.DataFrame, *, min_rul: float = 125.0) -> pd.DataFrame:
    """Rows far from failure: the baseline period of each unit."""
    rul = remaining_life(frame, unit_column=CMAPSS_UNIT, time_column=CMAPSS_CYCLE)
    return frame[rul > min_rul]


@cache
def small_anomaly_scorer() -> AnomalyScorer:
    """Anomaly scorer on the healthy period (RUL > 125) of the first 40 FD001 units."""
    pipeline = small_rul_model().pipeline
    baseline = healthy_rows(first_units(cmapss("FD001").train, TRAINING_UNITS))
    return train_anomaly_scorer(baseline, COLUMNS, pipeline, min_history=BASELINE_MIN_HISTORY)
