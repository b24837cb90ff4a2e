"""The RUL trees' ONNX form predicts what scikit-learn's fitted trees predict."""

from __future__ import annotations

import pickle
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingRegressor

from maintenance.datasets import remaining_life
from maintenance.errors import FeatureInputError, ModelConversionError
from maintenance.features import FloatArray
from maintenance.training import fit_pipeline, history_features
from maintenance.tree_ensemble import TreeEnsemble
from maintenance.tree_export import tree_ensemble_of
from tests.unit.maintenance.maintenance_kit import (
    COLUMNS,
    SMALL_RUL,
    cmapss,
    first_units,
)

FLOAT32_RTOL = 1e-6


def assert_same_predictions(estimator: HistGradientBoostingRegressor, rows: FloatArray) -> None:
    expected = estimator.predict(rows)
    actual = tree_ensemble_of(estimator).predict(rows)
    assert actual.dtype == np.float64
    np.testing.assert_allclose(actual, expected, rtol=FLOAT32_RTOL, atol=1e-9)


def with_gaps(
    rows: FloatArray, rng: np.random.Generator, share: float, *, infinite: bool = False
) -> FloatArray:
    """``rows`` with a ``share`` of values missing (and a tenth of that infinite)."""
    rows = rows.copy()
    rows[rng.random(rows.shape) < share] = np.nan
    if infinite:
        rows[rng.random(rows.shape) < share / 10] = np.inf
        rows[rng.random(rows.shape) < share / 10] = -np.inf
    return rows


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    features=st.integers(1, 12),
    trees=st.integers(1, 30),
    leaves=st.integers(2, 15),
    missing=st.sampled_from([0.0, 0.05, 0.3]),
)
def test_onnx_trees_match_scikit_learn_on_random_data_with_gaps(
    seed: int, features: int, trees: int, leaves: int, missing: float
) -> None:
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(300, features))
    target = train[:, 0] * 3 + np.sin(train[:, -1]) + rng.normal(scale=0.1, size=300)
    estimator = HistGradientBoostingRegressor(
        max_iter=trees, max_leaf_nodes=leaves, min_samples_leaf=5, early_stopping=False
    ).fit(with_gaps(train, rng, missing), target)
    query = with_gaps(rng.normal(size=(200, features)), rng, 0.1, infinite=True)
    assert_same_predictions(estimator, query)


@cache
def cmapss_design() -> tuple[FloatArray, FloatArray, FloatArray]:
    """Features + age of 15 FD001 training units, their capped RUL, and 15 test units' rows."""
    training_units = first_units(cmapss("FD001").train, 15)
    pipeline = fit_pipeline(training_units, COLUMNS)

    def design(frame: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        features = history_features(frame, COLUMNS, pipeline)
        index = features.index.to_frame(index=False)
        age = index[COLUMNS.time].to_numpy(dtype=np.float64)
        life = remaining_life(index, unit_column=COLUMNS.unit, time_column=COLUMNS.time)
        return np.column_stack([features.to_numpy(), age]), np.minimum(life, SMALL_RUL.cap)

    train, target = design(training_units)
    test, _ = design(first_units(cmapss("FD001").test, 15))
    return train, target, test


def test_onnx_trees_match_scikit_learn_on_a_cmapss_trained_model() -> None:
    train, target, test = cmapss_design()
    assert np.isnan(test).any()  # the first rows of a unit have partial windows
    estimator = HistGradientBoostingRegressor(
        max_iter=SMALL_RUL.max_iter, max_leaf_nodes=15, min_samples_leaf=50, early_stopping=False
    ).fit(train, target)
    assert_same_predictions(estimator, test)


def test_a_tree_that_is_one_leaf_scores_the_baseline() -> None:
    rows = np.random.default_rng(1).normal(size=(100, 3))
    estimator = HistGradientBoostingRegressor(max_iter=3, early_stopping=False).fit(
        rows, np.full(100, 7.0)
    )
    assert all(predictor.nodes.size == 1 for (predictor,) in estimator._predictors)
    assert_same_predictions(estimator, rows)


def test_the_trees_pickle_as_their_graph_and_score_after_unpickling() -> None:
    rng = np.random.default_rng(2)
    rows = rng.normal(size=(200, 4))
    estimator = HistGradientBoostingRegressor(max_iter=10, early_stopping=False).fit(
        rows, rows[:, 0]
    )
    trees = tree_ensemble_of(estimator)
    expected = trees.predict(rows)
    stored = pickle.dumps(trees, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(stored) < len(trees.graph) + 200
    assert b"sklearn" not in stored
    np.testing.assert_array_equal(pickle.loads(stored).predict(rows), expected)


def test_the_trees_refuse_rows_of_another_width() -> None:
    rows = np.random.default_rng(3).normal(size=(50, 4))
    trees = tree_ensemble_of(
        HistGradientBoostingRegressor(max_iter=2, early_stopping=False).fit(rows, rows[:, 1])
    )
    with pytest.raises(FeatureInputError, match=r"\(rows, 4\)"):
        trees.predict(rows[:, :3])
    assert trees.predict(rows[:0]).shape == (0,)


def test_categorical_splits_another_loss_and_an_unfitted_estimator_are_refused() -> None:
    rng = np.random.default_rng(4)
    rows = np.column_stack([rng.integers(0, 4, 300), rng.normal(size=300)]).astype(float)
    target = rows[:, 0] * 2 + rows[:, 1]
    categorical = HistGradientBoostingRegressor(
        max_iter=5, categorical_features=[0], early_stopping=False
    ).fit(rows, target)
    with pytest.raises(ModelConversionError, match="categorical"):
        tree_ensemble_of(categorical)
    absolute = HistGradientBoostingRegressor(
        loss="absolute_error", max_iter=5, early_stopping=False
    ).fit(rows, target)
    with pytest.raises(ModelConversionError, match="absolute_error"):
        tree_ensemble_of(absolute)
    with pytest.raises(ModelConversionError, match="not fitted"):
        tree_ensemble_of(HistGradientBoostingRegressor())


def test_a_graph_built_elsewhere_is_scored_as_given() -> None:
    rows = np.random.default_rng(5).normal(size=(30, 2))
    estimator = HistGradientBoostingRegressor(max_iter=4, early_stopping=False).fit(
        rows, rows[:, 0]
    )
    copy = TreeEnsemble(tree_ensemble_of(estimator).graph, 2)
    np.testing.assert_allclose(copy.predict(rows), estimator.predict(rows), rtol=FLOAT32_RTOL)
