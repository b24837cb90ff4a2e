"""Window features per machine and tag, vectorised over a machines × time × tags array."""

# :func:`window_features` takes the last samples of every machine as one ``(machines, time,
# tags)`` float array, oldest sample first, with ``NaN`` where a sample is missing or Bad (and
# before a machine's history starts). Every statistic ignores ``NaN`` samples. Training builds
# such arrays from a run-to-failure table (:func:`history_windows`). Both it and the scoring path
# (whose ring holds its samples time-major, ``maintenance.sample_ring``) compute the statistics
# with :func:`time_major_features` on ``(time, machines, tags)`` samples, so training and scoring
# cannot drift apart: there a window is a run of whole rows, and a sum over time is one matrix
# product over contiguous memory (3–8× faster than sums along the middle axis).

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from maintenance.errors import FeatureInputError
from models import Frozen

if TYPE_CHECKING:
    import pandas as pd  # history tables are read when training; scoring needs no pandas

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
    DELTA = "delta"
    """Level change across the window: newest quarter's mean minus the oldest quarter's."""
    RESIDUAL_STD = "rstd"
    """Standard deviation about the window's least-squares line (spread without the trend)."""


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
        """Feature names, tag-major: ``"{tag}__{stat}_w{length}"`` (built once per spec: models
        ask for them on every scoring tick)."""
        return _feature_names(self)

    @property
    def feature_tag_index(self) -> IntArray:
        """For every feature, the index of the tag it is computed from."""
        return np.repeat(np.arange(len(self.tags)), len(self.stat_labels))


@lru_cache(maxsize=256)
def _feature_names(spec: FeatureSpec) -> tuple[str, ...]:
    return tuple(f"{tag}{_SEPARATOR}{label}" for tag in spec.tags for label in spec.stat_labels)


_LEVEL_STATS = (
    Stat.LAST,
    Stat.MEAN,
    Stat.STD,
    Stat.SLOPE,
    Stat.MIN,
    Stat.MAX,
    Stat.RMS,
    Stat.EWM,
)
"""Level, spread, extremes and trend of the short window."""
_TREND_STATS = (Stat.SLOPE, Stat.DELTA)
"""Trend and level change over each rung of the ladder."""


def level_windows(window: int = 30, long_window: int = 90) -> tuple[Window, Window]:
    """Short-window level, spread and extremes plus a long-window level and trend.

    What tells abnormal running from normal (the anomaly scorer's features): the slower trend
    statistics of :func:`default_windows` vary from machine to machine even when healthy.
    """
    short = Window(length=window, stats=_LEVEL_STATS)
    long = Window(length=long_window, stats=(Stat.MEAN, Stat.SLOPE))
    return short, long


def default_windows(window: int = 30, long_window: int = 90) -> tuple[Window, ...]:
    """Short-window level, spread and extremes, then trend and level change over a ladder.

    The ladder doubles from ``window`` up to ``long_window`` (which ends it, with the long
    level): slopes and level changes over several spans tell a slow drift from a fast rise,
    and a rise that accelerates (wear running away) from one that levels off; the long window's
    spread about its trend shows a part that runs rougher as it wears, whatever the machine's
    own level.
    """
    short = Window(length=window, stats=(*_LEVEL_STATS, Stat.DELTA))
    if long_window <= window:
        return (short,)
    rungs = [Window(length=n, stats=_TREND_STATS) for n in _doubling(window, below=long_window)]
    long = Window(length=long_window, stats=(Stat.MEAN, *_TREND_STATS, Stat.RESIDUAL_STD))
    return (short, *rungs, long)


def _doubling(window: int, *, below: int) -> Iterator[int]:
    """``2·window``, ``4·window``, … while less than ``below``."""
    length = 2 * window
    while length < below:
        yield length
        length *= 2


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
    values = _checked(windows, spec, time_axis=1)[:, -spec.history :, :]
    return time_major_features(np.ascontiguousarray(values.transpose(1, 0, 2)), spec)


def time_major_features(
    samples: FloatArray, spec: FeatureSpec, *, complete: bool | None = None
) -> FloatArray:
    """:func:`window_features` of ``(time, machines, tags)`` samples, oldest first.

    In this layout a window is a run of whole rows: a sum over time is one matrix product of
    a ``(time,)`` vector with contiguous ``(time, machines · tags)`` rows, and min and max
    reduce whole rows (the scoring ring keeps its samples so). ``complete``: whether every
    sample is known to be finite (None: checked here).
    """
    values = _checked(samples, spec, time_axis=0)[-spec.history :]
    if complete is None:
        complete = bool(np.isfinite(values.sum()))  # then so is every window: no check per window
    machines, tags = values.shape[1], values.shape[2]
    features = np.empty((machines, tags, sum(len(window.stats) for window in spec.windows)))
    column = 0
    for window in spec.windows:
        moments = _Moments(values[-window.length :], known_complete=complete)
        for stat in window.stats:
            features[:, :, column] = _STAT_FUNCTIONS[stat](moments, window)
            column += 1
    return features.reshape(machines, -1)  # tag-major, as ``spec.names``


def _checked(windows: FloatArray, spec: FeatureSpec, *, time_axis: int) -> FloatArray:
    array = np.asarray(windows, dtype=np.float64)
    layout = "machines × time × tags" if time_axis == 1 else "time × machines × tags"
    if array.ndim != 3:
        raise FeatureInputError(f"expected a {layout} array, got shape {array.shape}")
    if array.shape[2] != len(spec.tags):
        raise FeatureInputError(
            f"array has {array.shape[2]} tags, the feature spec has {len(spec.tags)}: {spec.tags}"
        )
    if array.shape[time_axis] == 0:
        raise FeatureInputError(f"array holds no samples (time axis {time_axis} of length 0)")
    return array


class _Moments:
    """Masked sums over the time axis shared by several statistics, computed once per window.

    ``values`` is ``(time, machines, tags)``. Sums over time are ``weights @ rows`` products of
    a ``(time,)`` vector with the window as a ``(time, machines · tags)`` matrix.
    """

    def __init__(self, values: FloatArray, *, known_complete: bool = False) -> None:
        """``known_complete``: the caller knows every sample is finite (skips the check)."""
        self.values = values
        self.length = values.shape[0]
        self.complete = known_complete or bool(np.isfinite(values.sum()))
        self.mask: FloatArray | None = None
        self.missing: npt.NDArray[np.bool_] | None = None
        self.zeroed = values
        if self.complete:
            self.count = np.full(values.shape[1:], float(self.length))
        else:
            finite = np.isfinite(values)
            self.missing = ~finite
            self.mask = finite.astype(np.float64)
            self.zeroed = np.where(finite, values, 0.0)
            self.count = self.sum_over_time(self.mask)
        self.divisor = np.where(self.count > 0, self.count, np.nan)
        self._mean: FloatArray | None = None
        self._line: tuple[FloatArray, FloatArray] | None = None

    @property
    def mean(self) -> FloatArray:
        """Mean of the finite samples (NaN with none); computed once, when a statistic needs it."""
        if self._mean is None:
            self._mean = self.sum_over_time(self.zeroed) / self.divisor
        return self._mean

    def sum_over_time(self, of: FloatArray, weights: FloatArray | None = None) -> FloatArray:
        """Σ_t weights[t] · of[t] (weights 1 when omitted), shape ``(machines, tags)``."""
        if weights is None:
            weights = np.ones(self.length)
        rows = of.reshape(self.length, -1)
        return np.asarray(weights @ rows, dtype=np.float64).reshape(of.shape[1:])

    @staticmethod
    def sum_of_squares(of: FloatArray) -> FloatArray:
        """Σ_t of[t]², shape ``(machines, tags)``, without an array of the squares."""
        rows = of.reshape(of.shape[0], -1)
        return np.asarray(np.einsum("tk,tk->k", rows, rows), dtype=np.float64).reshape(of.shape[1:])

    def centred(self) -> FloatArray:
        """Samples minus the window mean, 0 where a sample is missing."""
        centred = np.subtract(self.values, self.mean)
        if self.missing is not None:
            np.copyto(centred, 0.0, where=self.missing)
        return centred

    def line(self) -> tuple[FloatArray, FloatArray]:
        """Least-squares slope per sample step, and Σ(t − t̄)² over the finite samples.

        The slope is 0 with fewer than two samples and NaN with none; computed once per window.
        """
        if self._line is None:
            self._line = self._fit_line()
        return self._line

    def _fit_line(self) -> tuple[FloatArray, FloatArray]:
        steps = np.arange(self.length, dtype=np.float64)
        if self.mask is None:
            steps_centred = steps - steps.mean()
            spread = np.full(self.count.shape, float(np.square(steps_centred).sum()))
            covariance = self.sum_over_time(self.values, steps_centred)
        else:
            step_mean = self.sum_over_time(self.mask, steps) / np.where(
                self.count > 0, self.count, 1.0
            )
            spread = self.sum_over_time(self.mask, np.square(steps)) - self.count * np.square(
                step_mean
            )
            covariance = self.sum_over_time(self.centred(), steps)
        slope = np.divide(covariance, spread, out=np.zeros_like(covariance), where=spread > 1e-9)
        return np.where(self.count > 0, slope, np.nan), spread


def _last(m: _Moments, _: Window) -> FloatArray:
    if m.mask is None:
        return np.asarray(m.values[-1])
    from_end = np.argmax(m.mask[::-1], axis=0)
    index = m.length - 1 - from_end
    last = np.take_along_axis(m.values, index[None, :, :], axis=0)[0]
    return np.where(m.count > 0, last, np.nan)


def _mean(m: _Moments, _: Window) -> FloatArray:
    return m.mean


def _std(m: _Moments, _: Window) -> FloatArray:
    """Population standard deviation (ddof 0), from the centred samples for accuracy."""
    return np.sqrt(m.sum_of_squares(m.centred()) / m.divisor)


def _slope(m: _Moments, _: Window) -> FloatArray:
    """Least-squares slope per sample step: Σ(t − t̄)(x − x̄) / Σ(t − t̄)² over finite samples."""
    return m.line()[0]


def _residual_std(m: _Moments, _: Window) -> FloatArray:
    """Standard deviation about the least-squares line: the spread that is not trend (ddof 0).

    √((Σx² − n·x̄² − slope²·Σ(t − t̄)²) / n), never below 0. From sums, in two passes over the
    window instead of five: accurate to about 1e-7 of the largest |x| in the window (a window
    that is exactly a line may show that much instead of 0).
    """
    slope, spread = m.line()
    total = m.sum_of_squares(m.zeroed) - m.count * np.square(np.nan_to_num(m.mean))
    explained = np.square(np.nan_to_num(slope)) * spread
    return np.asarray(np.sqrt(np.maximum(total - explained, 0.0) / m.divisor), dtype=np.float64)


def _min(m: _Moments, _: Window) -> FloatArray:
    if m.missing is None:
        return np.asarray(m.values.min(axis=0))
    lowest = np.where(m.missing, np.inf, m.values).min(axis=0)
    return np.where(m.count > 0, lowest, np.nan)


def _max(m: _Moments, _: Window) -> FloatArray:
    if m.missing is None:
        return np.asarray(m.values.max(axis=0))
    highest = np.where(m.missing, -np.inf, m.values).max(axis=0)
    return np.where(m.count > 0, highest, np.nan)


def _rms(m: _Moments, _: Window) -> FloatArray:
    return np.sqrt(m.sum_of_squares(m.zeroed) / m.divisor)


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


def _delta(m: _Moments, window: Window) -> FloatArray:
    """Mean of the newest quarter of the window minus the mean of its oldest quarter.

    Quarters of ``window.length`` samples: a history shorter than the window misses (part of)
    the oldest quarter, as if padded with missing samples. NaN when a quarter holds no finite
    sample.
    """
    quarter = max(window.length // 4, 1)
    position = np.arange(m.length) + (window.length - m.length)  # in the full window
    newest = (position >= window.length - quarter).astype(np.float64)
    oldest = (position < quarter).astype(np.float64)
    if m.mask is None and oldest.sum() == quarter:
        return m.sum_over_time(m.values, (newest - oldest) / float(quarter))
    mask = m.mask if m.mask is not None else np.ones(m.values.shape)

    def mean_of(weights: FloatArray) -> FloatArray:
        count = m.sum_over_time(mask, weights)
        return m.sum_over_time(m.zeroed, weights) / np.where(count > 0, count, np.nan)

    return mean_of(newest) - mean_of(oldest)


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
    Stat.DELTA: _delta,
    Stat.RESIDUAL_STD: _residual_std,
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
    import pandas as pd

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
