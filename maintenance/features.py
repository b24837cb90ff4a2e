"""Window features per machine and tag, vectorised over a machines × time × tags array."""

# The scoring path hands :func:`window_features` the last samples of every machine as one
# ``(machines, time, tags)`` float array, oldest sample first, with ``NaN`` where a sample is
# missing or Bad (and before a machine's history starts). Every statistic ignores ``NaN`` samples.
# Training builds the same arrays from a run-to-failure table (:func:`history_windows`) and calls
# the same function, so training and scoring cannot drift apart.

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field, model_validator

from maintenance.errors import FeatureInputError
from models.machines import Frozen

FloatArray = npt.NDArray[np.float64]
"""Float64 numpy array; the only float array type the maintenance models exchange."""
IntArray = npt.NDArray[np.intp]
"""Index array."""

_SEPARATOR = "__"


class Stat(StrEnum):
    """One statistic computed over a window of samples of one tag."""

    LAST = "last"
    MEAN = "mean"
    STD = "std"
    SLOPE = "slope"
    MIN = "min"
    MAX = "max"
    RMS = "rms"
    EWM = "ewm"
    COUNT = "count"


class Window(Frozen):
    """The statistics to compute over the last ``length`` samples of every tag."""

    length: int = Field(ge=1, le=10_000)
    stats: tuple[Stat, ...] = Field(min_length=1)
    ewm_alpha: float = Field(0.2, gt=0, le=1, description="smoothing factor of Stat.EWM")

    @model_validator(mode="after")
    def _stats_unique(self) -> Window:
        if len(set(self.stats)) != len(self.stats):
            raise ValueError(f"statistics repeat in window of {self.length}: {self.stats}")
        return self

    def stat_label(self, stat: Stat) -> str:
        """The part of a feature name naming one statistic of this window."""
        if stat is Stat.EWM:
            return f"ewm{self.ewm_alpha:g}_w{self.length}"
        return f"{stat.value}_w{self.length}"


TagName = Annotated[str, Field(min_length=1)]
"""A tag as features know it: any non-empty name without the ``__`` separator."""


class FeatureSpec(Frozen):
    """Which tags feed the features, in which order, and which window statistics to compute."""

    tags: tuple[TagName, ...] = Field(min_length=1)
    windows: tuple[Window, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> FeatureSpec:
        if len(set(self.tags)) != len(self.tags):
            raise ValueError(f"tags repeat: {self.tags}")
        clashing = [tag for tag in self.tags if _SEPARATOR in tag]
        if clashing:
            raise ValueError(f"tag names must not contain {_SEPARATOR!r}: {clashing}")
        labels = [window.stat_label(stat) for window in self.windows for stat in window.stats]
        if len(set(labels)) != len(labels):
            raise ValueError(f"two windows compute the same statistic: {labels}")
        return self

    @property
    def history(self) -> int:
        """Samples per machine the features need: the longest window."""
        return max(window.length for window in self.windows)

    @property
    def stat_labels(self) -> tuple[str, ...]:
        """Statistic labels in the order each tag's features appear."""
        return tuple(window.stat_label(stat) for window in self.windows for stat in window.stats)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names, tag-major: ``"{tag}__{stat}_w{length}"``."""
        return tuple(f"{tag}{_SEPARATOR}{label}" for tag in self.tags for label in self.stat_labels)

    @property
    def feature_tag_index(self) -> IntArray:
        """For every feature, the index of the tag it is computed from."""
        return np.repeat(np.arange(len(self.tags)), len(self.stat_labels))


def default_windows(window: int = 30, long_window: int = 90) -> tuple[Window, Window]:
    """Short-window level, spread, extremes and trend plus a long-window level and trend."""
    short = Window(
        length=window,
        stats=(
            Stat.LAST,
            Stat.MEAN,
            Stat.STD,
            Stat.SLOPE,
            Stat.MIN,
            Stat.MAX,
            Stat.RMS,
            Stat.EWM,
        ),
    )
    long = Window(length=long_window, stats=(Stat.MEAN, Stat.SLOPE))
    return short, long


def default_spec(tags: Sequence[str], *, window: int = 30, long_window: int = 90) -> FeatureSpec:
    """The default window statistics over ``tags``."""
    return FeatureSpec(tags=tuple(tags), windows=default_windows(window, long_window))


def window_features(windows: FloatArray, spec: FeatureSpec) -> FloatArray:
    """Features of every machine, shape ``(machines, len(spec.names))``.

    ``windows`` is ``(machines, time, tags)``, oldest sample first; only the last
    ``spec.history`` samples are used, and a shorter array counts as a history that starts late.
    A statistic over a window with no finite sample is ``NaN``; ``std`` of one sample and
    ``slope`` of fewer than two samples are 0.
    """
    values = _checked(windows, spec)
    per_window = [
        _stats_of_window(values[:, -window.length :, :], window) for window in spec.windows
    ]
    stacked = np.concatenate(per_window, axis=2)  # machines × tags × stats
    return np.ascontiguousarray(stacked.reshape(stacked.shape[0], -1))


def _checked(windows: FloatArray, spec: FeatureSpec) -> FloatArray:
    array = np.asarray(windows, dtype=np.float64)
    if array.ndim != 3:
        raise FeatureInputError(f"expected a machines × time × tags array, got shape {array.shape}")
    if array.shape[2] != len(spec.tags):
        raise FeatureInputError(
            f"array has {array.shape[2]} tags, the feature spec has {len(spec.tags)}: {spec.tags}"
        )
    if array.shape[1] == 0:
        raise FeatureInputError("array holds no samples (time axis of length 0)")
    return array


def _stats_of_window(values: FloatArray, window: Window) -> FloatArray:
    """The window's statistics, shape ``(machines, tags, len(window.stats))``."""
    moments = _Moments(values)
    columns = [_STAT_FUNCTIONS[stat](moments, window) for stat in window.stats]
    return np.stack(columns, axis=2)


class _Moments:
    """Masked sums over the time axis shared by several statistics, computed once per window.

    Sums over time are ``weights @ values`` matrix products (``(time,) @ (machines, time,
    tags)``), several times faster than reductions along the middle axis.
    """

    def __init__(self, values: FloatArray) -> None:
        self.values = values
        self.length = values.shape[1]
        self.complete = bool(np.isfinite(values.sum()))
        self.mask: FloatArray | None = None
        self.zeroed = values
        if self.complete:
            self.count = np.full(values.shape[::2], float(self.length))
        else:
            finite = np.isfinite(values)
            self.mask = finite.astype(np.float64)
            self.zeroed = np.where(finite, values, 0.0)
            self.count = self.sum_over_time(self.mask)
        self.divisor = np.where(self.count > 0, self.count, np.nan)
        self.mean = self.sum_over_time(self.zeroed) / self.divisor

    def sum_over_time(self, of: FloatArray, weights: FloatArray | None = None) -> FloatArray:
        """Σ_t weights[t] · of[:, t, :] (weights 1 when omitted), shape ``(machines, tags)``."""
        if weights is None:
            weights = np.ones(self.length)
        return np.asarray(np.matmul(weights, of), dtype=np.float64)

    def centred(self) -> FloatArray:
        """Samples minus the window mean, 0 where a sample is missing."""
        centred = self.values - self.mean[:, None, :]
        return centred if self.mask is None else np.where(self.mask > 0, centred, 0.0)


def _last(m: _Moments, _: Window) -> FloatArray:
    if m.mask is None:
        return np.array(m.values[:, -1, :])
    from_end = np.argmax(m.mask[:, ::-1, :], axis=1)
    index = m.length - 1 - from_end
    last = np.take_along_axis(m.values, index[:, None, :], axis=1)[:, 0, :]
    return np.where(m.count > 0, last, np.nan)


def _mean(m: _Moments, _: Window) -> FloatArray:
    return m.mean


def _std(m: _Moments, _: Window) -> FloatArray:
    """Population standard deviation (ddof 0), from the centred samples for accuracy."""
    return np.sqrt(m.sum_over_time(np.square(m.centred())) / m.divisor)


def _slope(m: _Moments, _: Window) -> FloatArray:
    """Least-squares slope per sample step: Σ(t − t̄)(x − x̄) / Σ(t − t̄)² over finite samples."""
    steps = np.arange(m.length, dtype=np.float64)
    if m.mask is None:
        steps_centred = steps - steps.mean()
        spread = float(np.square(steps_centred).sum())
        if spread == 0.0:
            return np.zeros(m.mean.shape)
        return m.sum_over_time(m.values, steps_centred) / spread
    step_mean = m.sum_over_time(m.mask, steps) / np.where(m.count > 0, m.count, 1.0)
    spread = m.sum_over_time(m.mask, np.square(steps)) - m.count * np.square(step_mean)
    covariance = m.sum_over_time(m.centred(), steps)
    slope = np.divide(covariance, spread, out=np.zeros_like(covariance), where=spread > 1e-9)
    return np.where(m.count > 0, slope, np.nan)


def _min(m: _Moments, _: Window) -> FloatArray:
    if m.mask is None:
        return np.asarray(m.values.min(axis=1))
    lowest = np.where(m.mask > 0, m.values, np.inf).min(axis=1)
    return np.where(m.count > 0, lowest, np.nan)


def _max(m: _Moments, _: Window) -> FloatArray:
    if m.mask is None:
        return np.asarray(m.values.max(axis=1))
    highest = np.where(m.mask > 0, m.values, -np.inf).max(axis=1)
    return np.where(m.count > 0, highest, np.nan)


def _rms(m: _Moments, _: Window) -> FloatArray:
    return np.sqrt(m.sum_over_time(np.square(m.zeroed)) / m.divisor)


def _ewm(m: _Moments, window: Window) -> FloatArray:
    """Exponentially weighted mean, weight (1 − α)^age with age 0 for the newest sample."""
    weights = (1.0 - window.ewm_alpha) ** np.arange(m.length - 1, -1, -1, dtype=np.float64)
    numerator = m.sum_over_time(m.zeroed, weights)
    if m.mask is None:
        return numerator / float(weights.sum())
    denominator = m.sum_over_time(m.mask, weights)
    return numerator / np.where(denominator > 0, denominator, np.nan)


def _count(m: _Moments, _: Window) -> FloatArray:
    return m.count


_STAT_FUNCTIONS = {
    Stat.LAST: _last,
    Stat.MEAN: _mean,
    Stat.STD: _std,
    Stat.SLOPE: _slope,
    Stat.MIN: _min,
    Stat.MAX: _max,
    Stat.RMS: _rms,
    Stat.EWM: _ewm,
    Stat.COUNT: _count,
}


def history_windows(series: FloatArray, history: int) -> FloatArray:
    """Every prefix of one machine's ``(time, tags)`` series as its last ``history`` samples.

    Row ``i`` of the result is what the scoring buffer holds right after sample ``i``:
    shape ``(time, history, tags)``, ``NaN`` before the series starts. A read-only view.
    """
    samples = np.asarray(series, dtype=np.float64)
    if samples.ndim != 2:
        raise FeatureInputError(f"expected a time × tags series, got shape {samples.shape}")
    padding = np.full((history - 1, samples.shape[1]), np.nan)
    padded = np.concatenate([padding, samples], axis=0)
    view = np.lib.stride_tricks.sliding_window_view(padded, history, axis=0)
    return view.transpose(0, 2, 1)


def latest_window(series: FloatArray, history: int) -> FloatArray:
    """The last ``history`` samples of one machine's ``(time, tags)`` series, NaN-padded."""
    samples = np.asarray(series, dtype=np.float64)
    if samples.ndim != 2:
        raise FeatureInputError(f"expected a time × tags series, got shape {samples.shape}")
    tail = samples[-history:]
    padding = np.full((history - tail.shape[0], samples.shape[1]), np.nan)
    return np.concatenate([padding, tail], axis=0)


def iter_history_features(
    series: Sequence[FloatArray], spec: FeatureSpec, *, chunk_rows: int = 4096
) -> Iterator[FloatArray]:
    """Features at every sample of every series, in order, computed in bounded chunks."""
    for samples in series:
        windows = history_windows(samples, spec.history)
        for start in range(0, windows.shape[0], chunk_rows):
            yield window_features(windows[start : start + chunk_rows], spec)


def run_to_failure_features(
    frame: pd.DataFrame,
    *,
    unit_column: str,
    time_column: str,
    columns: Sequence[str],
    spec: FeatureSpec,
    prepare: Callable[[FloatArray], FloatArray] | None = None,
) -> pd.DataFrame:
    """Features at every ``(unit, time)`` row of a history table, as scoring would compute them.

    ``columns`` are the raw input columns; ``prepare`` maps ``(samples, columns)`` rows to the
    ``(samples, spec.tags)`` values the spec expects (per-sample, e.g. condition normalisation).
    The result is indexed by ``(unit, time)``, sorted, with ``spec.names`` as columns.
    """
    ordered = _sorted_history(frame, unit_column, time_column, columns)
    rows = ordered[list(columns)].to_numpy(dtype=np.float64)
    values = prepare(rows) if prepare is not None else rows
    units = ordered[unit_column].to_numpy()
    series = np.split(values, _unit_starts(units)[1:])
    features = np.concatenate(list(iter_history_features(series, spec)), axis=0)
    index = pd.MultiIndex.from_arrays(
        [units, ordered[time_column].to_numpy()], names=[unit_column, time_column]
    )
    return pd.DataFrame(features, index=index, columns=list(spec.names))


@dataclass(frozen=True, eq=False)
class UnitWindows:
    """The last samples of every unit of a history table, as the scoring buffer holds them."""

    units: npt.NDArray[np.generic]
    windows: FloatArray
    """``(units, history, columns)``, NaN before a unit's history starts."""
    last_time: FloatArray
    """The time column at each unit's last sample."""


def latest_windows(
    frame: pd.DataFrame,
    *,
    unit_column: str,
    time_column: str,
    columns: Sequence[str],
    history: int,
) -> UnitWindows:
    """The last ``history`` raw samples of every unit, ordered by unit."""
    ordered = _sorted_history(frame, unit_column, time_column, columns)
    rows = ordered[list(columns)].to_numpy(dtype=np.float64)
    units = ordered[unit_column].to_numpy()
    starts = _unit_starts(units)
    series = np.split(rows, starts[1:])
    windows = np.stack([latest_window(samples, history) for samples in series])
    ends = np.append(starts[1:], len(units)) - 1
    last_time = ordered[time_column].to_numpy(dtype=np.float64)[ends]
    return UnitWindows(units[starts], windows, last_time)


def _sorted_history(
    frame: pd.DataFrame, unit_column: str, time_column: str, columns: Sequence[str]
) -> pd.DataFrame:
    missing = [c for c in (unit_column, time_column, *columns) if c not in frame.columns]
    if missing:
        raise FeatureInputError(f"history table lacks columns {missing}")
    if frame.empty:
        raise FeatureInputError("history table is empty")
    return frame.sort_values([unit_column, time_column], kind="stable")


def _unit_starts(units: npt.NDArray[np.generic]) -> IntArray:
    """Row indices where a new unit starts in a table sorted by unit (0 first)."""
    changes = np.flatnonzero(units[1:] != units[:-1]) + 1
    return np.concatenate([[0], changes]).astype(np.intp)
