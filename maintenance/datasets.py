"""Readers for the public data sets the models are evaluated on (C-MAPSS, AI4I 2020)."""

# The product never needs them at run time; tests and benchmarks read them from a directory
# given on their command line.

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from maintenance.errors import TrainingDataError
from maintenance.features import FloatArray

CMAPSS_UNIT = "unit"
CMAPSS_CYCLE = "cycle"
CMAPSS_SETTINGS = ("setting_1", "setting_2", "setting_3")
CMAPSS_SENSORS = tuple(f"sensor_{i}" for i in range(1, 22))
CMAPSS_COLUMNS = (CMAPSS_UNIT, CMAPSS_CYCLE, *CMAPSS_SETTINGS, *CMAPSS_SENSORS)

AI4I_LABEL = "Machine failure"
AI4I_FAILURE_MODES = ("TWF", "HDF", "PWF", "OSF", "RNF")
AI4I_IDENTIFIERS = ("UDI", "Product ID")


@dataclass(frozen=True, eq=False)
class CmapssSubset:
    """One C-MAPSS subset: run-to-failure training units, truncated test units, true test RUL."""

    name: str
    train: pd.DataFrame
    test: pd.DataFrame
    test_rul: FloatArray
    """True RUL after the last test cycle, in the order of the sorted test unit numbers."""


def read_cmapss_table(path: Path) -> pd.DataFrame:
    """One space-separated C-MAPSS file (26 columns, no header), gz or plain."""
    if not path.is_file():
        raise TrainingDataError(f"C-MAPSS file {path} does not exist")
    frame = pd.read_csv(path, sep=r"\s+", header=None, engine="c")
    if frame.shape[1] != len(CMAPSS_COLUMNS):
        raise TrainingDataError(
            f"{path} has {frame.shape[1]} columns, C-MAPSS files have {len(CMAPSS_COLUMNS)}"
        )
    frame.columns = list(CMAPSS_COLUMNS)
    return frame.astype({CMAPSS_UNIT: np.int64, CMAPSS_CYCLE: np.int64})


def read_cmapss(directory: Path, subset: str) -> CmapssSubset:
    """``train_{subset}``, ``test_{subset}`` and ``RUL_{subset}`` from ``directory``."""
    train = read_cmapss_table(_data_file(directory, f"train_{subset}"))
    test = read_cmapss_table(_data_file(directory, f"test_{subset}"))
    rul_frame = pd.read_csv(_data_file(directory, f"RUL_{subset}"), sep=r"\s+", header=None)
    rul = rul_frame.iloc[:, 0].to_numpy(dtype=np.float64)
    units = test[CMAPSS_UNIT].nunique()
    if rul.shape[0] != units:
        raise TrainingDataError(f"RUL_{subset} has {rul.shape[0]} lines for {units} test units")
    return CmapssSubset(subset, train, test, rul)


def remaining_life(frame: pd.DataFrame, *, unit_column: str, time_column: str) -> FloatArray:
    """RUL of each row of a run-to-failure table: the unit's last time minus the row's time."""
    last = frame.groupby(unit_column)[time_column].transform("max")
    return np.asarray((last - frame[time_column]).to_numpy(dtype=np.float64), dtype=np.float64)


def read_ai4i(directory: Path) -> pd.DataFrame:
    """The AI4I 2020 predictive-maintenance table (UCI), as published."""
    return pd.read_csv(_data_file(directory, "ai4i2020", suffixes=(".csv.gz", ".csv")))


def _data_file(directory: Path, stem: str, suffixes: tuple[str, ...] = (".txt.gz", ".txt")) -> Path:
    for suffix in suffixes:
        candidate = directory / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise TrainingDataError(
        f"no {stem}{{{','.join(suffixes)}}} in {directory}",
        advice="pass the data directory that holds the public data sets (--data DIR)",
    )
