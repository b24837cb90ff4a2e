"""The RUL model learns from run-to-failure histories and its band covers held-out errors."""

from __future__ import annotations

import numpy as np
import pytest

from maintenance.errors import FeatureInputError, TrainingDataError
from maintenance.evaluation import band_coverage, rmse
from maintenance.features import Stat, Window
from maintenance.rul import ResidualBand
from maintenance.training import ages_of, train_rul_model, unit_windows
from tests.unit.maintenance.maintenance_kit import (
    COLUMNS,
    SMALL_RUL,
    cmapss,
    first_units,
    small_rul_model,
)


def test_rul_model_beats_a_constant_mean_predictor_on_held_out_units() -> None:
    model = small_rul_model()
    test = cmapss("FD001")
    last = unit_windows(test.test, COLUMNS, model.pipeline)
    truth = np.minimum(test.test_rul, SMALL_RUL.cap)
    prediction = model.predict(last.windows, ages_of(last))
    training_target = np.minimum(
        cmapss("FD001").train.groupby("unit")["cycle"].transform("max")
        - cmapss("FD001").train["cycle"],
        SMALL_RUL.cap,
    )
    constant = np.full_like(truth, float(training_target.mean()))
    assert rmse(prediction.rul, truth) < 0.7 * rmse(constant, truth)


def test_prediction_band_brackets_the_prediction_and_covers_most_units() -> None:
    model = small_rul_model()
    test = cmapss("FD001")
    last = unit_windows(test.test, COLUMNS, model.pipeline)
    prediction = model.predict(last.windows, ages_of(last))
    assert (prediction.lower <= prediction.rul).all()
    assert (prediction.rul <= prediction.upper).all()
    assert (prediction.lower >= 0).all()
    truth = np.minimum(test.test_rul, SMALL_RUL.cap)
    assert band_coverage(prediction.lower, prediction.upper, truth) >= 0.75


def test_residual_band_covers_fresh_exchangeable_data_at_its_nominal_rate() -> None:
    rng = np.random.default_rng(3)
    predicted = rng.uniform(0, 100, 20_000)
    noise = rng.normal(0, 1 + predicted / 20)  # errors grow with the prediction
    band = ResidualBand.fit(
        predicted[:10_000], predicted[:10_000] + noise[:10_000], coverage=0.9, bins=5
    )
    lower, upper = band.interval(predicted[10_000:])
    truth = predicted[10_000:] + noise[10_000:]
    assert band_coverage(lower, upper, truth) == pytest.approx(0.9, abs=0.015)
    small, large = band.interval(np.array([5.0, 95.0]))[1] - band.interval(np.array([5.0, 95.0]))[0]
    assert large > 2 * small  # the band widens where the errors do


def test_model_needs_the_age_it_was_trained_with() -> None:
    model = small_rul_model()
    windows = np.zeros((2, model.pipeline.history, len(model.pipeline.input_tags)))
    with pytest.raises(FeatureInputError, match="age"):
        model.predict(windows)


def test_metrics_and_feature_names_describe_the_model() -> None:
    model = small_rul_model()
    assert model.feature_names[-1] == "age"
    assert model.feature_names[:-1] == model.pipeline.feature_names
    assert 0 < model.metrics["oof_rmse_capped"] < SMALL_RUL.cap


def test_focused_band_bins_the_predictions_below_the_cap_apart_from_healthy_ones() -> None:
    rng = np.random.default_rng(5)
    healthy = np.full(9_000, 100.0)  # most rows of a run-to-failure history sit at the cap
    near_failure = rng.uniform(0, 90, 1_000)
    predicted = np.concatenate([healthy, near_failure])
    actual = predicted + rng.normal(0, 1 + predicted / 10)
    actual[:9_000] = 100.0  # a healthy machine's capped truth is the cap: residual 0
    band = ResidualBand.fit(predicted, actual, coverage=0.9, bins=3, focus_below=90.0)
    assert len(band.edges) == 3  # 3 focused bins below 90, then one bin of healthy machines
    assert band.edges[-1] == 90.0
    lower, upper = band.interval(np.array([10.0, 80.0]))
    assert upper[1] - lower[1] > 2 * (upper[0] - lower[0])  # wider where the errors are
    assert lower[1] < 80.0 - 10  # the healthy rows' zero residuals do not shrink it
    unfocused = ResidualBand.fit(predicted, actual, coverage=0.9, bins=3)
    assert (unfocused.edges == 100.0).all()  # every unfocused edge lands on the cap


def test_log_target_band_is_relative_and_never_below_zero() -> None:
    model = small_rul_model()
    assert model.settings.log_offset is not None
    test = cmapss("FD001")
    last = unit_windows(test.test, COLUMNS, model.pipeline)
    prediction = model.predict(last.windows, ages_of(last))
    width = prediction.upper - prediction.lower
    low, high = np.argmin(prediction.rul), np.argmax(prediction.rul)
    assert width[low] < width[high]  # errors count relative to the life left
    assert (prediction.lower >= 0).all()


def test_far_rows_are_thinned_and_full_window_training_needs_a_full_window() -> None:
    frame = first_units(cmapss("FD001").train, 12)
    thinned = train_rul_model(
        frame, COLUMNS, settings=SMALL_RUL.model_copy(update={"cap": 60.0, "far_stride": 50})
    )
    assert 0 < thinned.metrics["oof_rmse_capped"] < 60.0
    too_long = (Window(length=400, stats=(Stat.MEAN,)),)
    with pytest.raises(TrainingDataError, match="full window"):
        train_rul_model(
            frame,
            COLUMNS,
            windows=too_long,
            settings=SMALL_RUL.model_copy(update={"full_windows_only": True}),
        )
