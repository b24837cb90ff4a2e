"""Window features match a naive per-machine, per-tag reference and keep training = scoring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydantic import ValidationError

from maintenance.errors import FeatureInputError
from maintenance.features import (
    FeatureSpec,
    FloatArray,
    Stat,
    Window,
    default_spec,
    default_windows,
    history_windows,
    latest_windows,
    run_to_failure_features,
    window_features,
)

ALL_STATS = tuple(Stat)


def naive_stat(samples: list[float], stat: Stat, window: Window) -> float:
    """One statistic of one tag's window, by the textbook formula on the finite samples.

    ``samples`` are the window's last samples, oldest first (fewer than ``window.length`` when
    the history is shorter).
    """
    if stat is Stat.DELTA:
        return naive_delta(samples, window.length)
    present = [(age, value) for age, value in enumerate(reversed(samples)) if math.isfinite(value)]
    values = [value for _, value in present]
    if stat is Stat.COUNT:
        return float(len(values))
    if not values:
        return math.nan
    mean = sum(values) / len(values)
    if stat is Stat.LAST:
        return values[0]
    if stat is Stat.MEAN:
        return mean
    if stat is Stat.STD:
        return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    if stat is Stat.MIN:
        return min(values)
    if stat is Stat.MAX:
        return max(values)
    if stat is Stat.RMS:
        return math.sqrt(sum(v * v for v in values) / len(values))
    if stat is Stat.EWM:
        weights = [(1 - window.ewm_alpha) ** age for age, _ in present]
        if sum(weights) == 0:  # α = 1 weighs only the newest sample, and it is missing
            return math.nan
        return sum(w * v for w, (_, v) in zip(weights, present, strict=True)) / sum(weights)
    times = [-age for age, _ in present]  # any origin: the slope does not depend on it
    slope = naive_slope(times, values)
    if stat is Stat.RESIDUAL_STD:
        intercept = mean - slope * sum(times) / len(times)
        residuals = [v - (intercept + slope * t) for t, v in zip(times, values, strict=True)]
        return math.sqrt(sum(r * r for r in residuals) / len(residuals))
    return slope


def naive_slope(times: list[int], values: list[float]) -> float:
    """Least-squares slope, 0 when every sample has the same time."""
    time_mean = sum(times) / len(times)
    mean = sum(values) / len(values)
    spread = sum((t - time_mean) ** 2 for t in times)
    if spread == 0:
        return 0.0
    return sum((t - time_mean) * (v - mean) for t, v in zip(times, values, strict=True)) / spread


def naive_delta(samples: list[float], length: int) -> float:
    """Mean of the newest quarter of a ``length``-sample window minus that of its oldest quarter.

    A shorter ``samples`` list is the window's newest end; its missing start counts as missing.
    """
    quarter = max(length // 4, 1)
    padded = [math.nan] * (length - len(samples)) + samples
    newest = [v for v in padded[-quarter:] if math.isfinite(v)]
    oldest = [v for v in padded[:quarter] if math.isfinite(v)]
    if not newest or not oldest:
        return math.nan
    return sum(newest) / len(newest) - sum(oldest) / len(oldest)


def naive_features(windows: FloatArray, spec: FeatureSpec) -> FloatArray:
    machines, _, tags = windows.shape
    result = np.empty((machines, len(spec.names)))
    for machine in range(machines):
        row: list[float] = []
        for tag in range(tags):
            for window in spec.windows:
                samples = list(windows[machine, -window.length :, tag])
                row.extend(naive_stat(samples, stat, window) for stat in window.stats)
        result[machine] = row
    return result


@st.composite
def specs(draw: st.DrawFn, tags: int) -> FeatureSpec:
    lengths = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3, unique=True))
    windows = tuple(
        Window(
            length=length,
            stats=tuple(draw(st.lists(st.sampled_from(ALL_STATS), min_size=1, unique=True))),
            ewm_alpha=draw(st.sampled_from([0.05, 0.3, 1.0])),
        )
        for length in lengths
    )
    return FeatureSpec(tags=tuple(f"t{i}" for i in range(tags)), windows=windows)


@st.composite
def windows_and_specs(draw: st.DrawFn, *, missing: bool) -> tuple[FloatArray, FeatureSpec]:
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 15)), draw(st.integers(1, 3)))
    values = draw(
        hnp.arrays(np.float64, shape, elements=st.floats(-1e4, 1e4, allow_subnormal=False))
    )
    if missing:
        holes = draw(hnp.arrays(np.bool_, shape))
        values = np.where(holes, np.nan, values)
    return values, draw(specs(shape[2]))


def assert_close(
    actual: FloatArray, expected: FloatArray, values: FloatArray, spec: FeatureSpec
) -> None:
    """Equal to float precision; the residual std (from sums) to 1e-7 of the values' scale."""
    scale = float(np.nanmax(np.abs(values), initial=0.0)) + 1.0
    from_sums = np.array(["__rstd_" in name for name in spec.names])
    np.testing.assert_allclose(
        actual[:, ~from_sums], expected[:, ~from_sums], rtol=1e-7, atol=1e-8 * scale
    )
    np.testing.assert_allclose(
        actual[:, from_sums], expected[:, from_sums], rtol=1e-7, atol=1e-7 * scale
    )


@settings(max_examples=150, deadline=None)
@given(windows_and_specs(missing=False))
def test_complete_windows_match_the_naive_reference(case: tuple[FloatArray, FeatureSpec]) -> None:
    values, spec = case
    assert_close(window_features(values, spec), naive_features(values, spec), values, spec)


@settings(max_examples=150, deadline=None)
@given(windows_and_specs(missing=True))
def test_windows_with_missing_samples_match_the_naive_reference(
    case: tuple[FloatArray, FeatureSpec],
) -> None:
    values, spec = case
    assert_close(window_features(values, spec), naive_features(values, spec), values, spec)


@settings(max_examples=60, deadline=None)
@given(windows_and_specs(missing=False))
def test_a_short_history_equals_the_same_samples_padded_with_missing(
    case: tuple[FloatArray, FeatureSpec],
) -> None:
    values, spec = case
    padding = np.full((values.shape[0], spec.history, values.shape[2]), np.nan)
    padded = np.concatenate([padding, values], axis=1)
    assert_close(window_features(padded, spec), window_features(values, spec), values, spec)


def test_names_are_deterministic_and_tag_major() -> None:
    spec = default_spec(["speed", "temp"], window=30, long_window=90)
    assert spec.names[:3] == ("speed__last_w30", "speed__mean_w30", "speed__std_w30")
    assert "temp__ewm0.2_w30" in spec.names
    assert spec.names[-4:] == (
        "temp__mean_w90",
        "temp__slope_w90",
        "temp__delta_w90",
        "temp__rstd_w90",
    )
    assert spec.names == default_spec(["speed", "temp"], window=30, long_window=90).names
    tag_of_feature = [spec.tags[i] for i in spec.feature_tag_index]
    assert tag_of_feature == [name.split("__")[0] for name in spec.names]


@pytest.mark.parametrize(
    "tags", [("a", "a"), ("a__b",), ()], ids=["repeated", "separator", "empty"]
)
def test_spec_rejects_ambiguous_tags(tags: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError):
        FeatureSpec(tags=tags, windows=(Window(length=3, stats=(Stat.MEAN,)),))


def test_wrong_tag_count_is_refused() -> None:
    spec = default_spec(["a", "b"])
    with pytest.raises(FeatureInputError, match="spec has 2"):
        window_features(np.zeros((3, 40, 3)), spec)


def test_a_tag_with_no_sample_has_nan_features_and_zero_count() -> None:
    spec = FeatureSpec(tags=("a",), windows=(Window(length=5, stats=(Stat.MEAN, Stat.COUNT)),))
    features = window_features(np.full((1, 5, 1), np.nan), spec)
    assert math.isnan(features[0, 0])
    assert features[0, 1] == 0


def test_history_windows_are_what_the_scoring_buffer_holds_after_each_sample() -> None:
    series = np.arange(12, dtype=np.float64).reshape(6, 2)
    windows = history_windows(series, 4)
    assert windows.shape == (6, 4, 2)
    for row in range(6):
        expected = series[max(0, row - 3) : row + 1]
        np.testing.assert_array_equal(windows[row, 4 - len(expected) :], expected)
        assert np.isnan(windows[row, : 4 - len(expected)]).all()


def test_training_features_equal_scoring_features_at_every_unit_end() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "unit": np.repeat([3, 1, 2], [25, 40, 7]),
            "time": np.concatenate([np.arange(25), np.arange(40), np.arange(7)]),
            "x": rng.normal(size=72),
            "y": rng.normal(size=72).cumsum(),
        }
    ).sample(frac=1.0, random_state=1)  # history tables need not arrive sorted
    spec = default_spec(["x", "y"], window=10, long_window=30)
    training = run_to_failure_features(
        frame, unit_column="unit", time_column="time", columns=("x", "y"), spec=spec
    )
    scoring = latest_windows(
        frame, unit_column="unit", time_column="time", columns=("x", "y"), history=spec.history
    )
    at_unit_ends = training.groupby(level="unit").tail(1).to_numpy()
    np.testing.assert_allclose(window_features(scoring.windows, spec), at_unit_ends)
    assert list(scoring.units) == [1, 2, 3]
    assert list(scoring.last_time) == [39, 6, 24]


def test_default_windows_ladder_doubles_up_to_the_long_window() -> None:
    lengths = [window.length for window in default_windows(24, 192)]
    assert lengths == [24, 48, 96, 192]
    assert [window.length for window in default_windows(30, 90)] == [30, 60, 90]
    assert all({Stat.SLOPE, Stat.DELTA} <= set(w.stats) for w in default_windows(24, 192)[1:])
    assert {Stat.MEAN, Stat.RESIDUAL_STD} <= set(default_windows(24, 192)[-1].stats)


def test_delta_is_the_rise_between_the_oldest_and_newest_quarter() -> None:
    ramp = np.arange(40, dtype=np.float64).reshape(1, 40, 1)  # quarters of 10: means 4.5, 34.5
    spec = FeatureSpec(tags=("x",), windows=(Window(length=40, stats=(Stat.DELTA,)),))
    assert window_features(ramp, spec)[0, 0] == pytest.approx(30.0)
    recent = ramp[:, -15:, :]  # the oldest quarter of the 40-sample window is not there yet
    assert math.isnan(window_features(recent, spec)[0, 0])


def test_residual_std_leaves_out_the_trend_and_keeps_the_roughness() -> None:
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 0.5, size=400)
    trend = 0.2 * np.arange(400)
    values = np.stack([trend, trend + noise], axis=1)[None, :, :]
    spec = FeatureSpec(
        tags=("smooth", "rough"), windows=(Window(length=400, stats=(Stat.RESIDUAL_STD,)),)
    )
    smooth, rough = window_features(values, spec)[0]
    assert smooth == pytest.approx(0.0, abs=1e-9)
    assert rough == pytest.approx(0.5, rel=0.1)
