"""Anomaly results: the one-product score and the vectorised top signals match their definitions."""

from __future__ import annotations

import numpy as np

from maintenance.anomaly import AnomalyResult, AnomalyScorer, AnomalySettings
from maintenance.features import FloatArray, Stat, Window
from maintenance.pipeline import FeaturePipeline

TAGS = ("t0", "t1", "t2", "t3", "t4", "t5")


def reference_top_contributors(result: AnomalyResult, count: int) -> list[tuple[str, ...]]:
    """Per machine, by definition: the ``count`` largest shares in order, positive ones only."""
    names = []
    for row in result.contributions:
        known = [i for i in range(len(row)) if not np.isnan(row[i])]
        ranked = sorted(known, key=lambda i: -row[i]) + [
            i for i in range(len(row)) if i not in known
        ]
        names.append(tuple(result.tags[i] for i in ranked[:count] if row[i] > 0))
    return names


def test_top_contributors_are_the_largest_positive_shares_in_order() -> None:
    rng = np.random.default_rng(5)
    contributions = rng.normal(size=(400, len(TAGS)))
    contributions[::7] = np.round(contributions[::7])  # ties and zero shares
    contributions[::11, 2] = np.nan
    contributions[::13] = -np.abs(contributions[::13])  # nothing positive
    result = AnomalyResult(contributions.sum(axis=1), contributions, TAGS)
    for count in (1, 3, len(TAGS)):
        assert result.top_contributors(count) == reference_top_contributors(result, count)


def scorer(rng: np.random.Generator) -> AnomalyScorer:
    pipeline = FeaturePipeline.fit(
        rng.normal(size=(50, len(TAGS))),
        condition_tags=(),
        sensor_tags=TAGS,
        windows=(Window(length=4, stats=(Stat.MEAN, Stat.STD)),),
    )
    features = len(pipeline.feature_names)
    root = rng.normal(size=(features, features))
    return AnomalyScorer(
        pipeline,
        AnomalySettings(),
        centre=rng.normal(size=features),
        scale=rng.uniform(0.5, 2.0, size=features),
        precision=root @ root.T / features,
        threshold=3.7,
    )


def reference_scores(model: AnomalyScorer, features: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Score and per-tag contributions as written in the module: c_f = z_f (P z)_f / threshold."""
    z = (features - model.centre) / model.scale
    z = np.where(np.isfinite(z), z, 0.0)
    parts = z * (z @ model.precision)
    per_tag = parts.reshape(parts.shape[0], len(model.tags), -1).sum(axis=2) / model.threshold
    return per_tag.sum(axis=1), per_tag


def test_scores_and_contributions_are_those_of_the_formula_bit_for_bit() -> None:
    rng = np.random.default_rng(9)
    model = scorer(rng)
    features = rng.normal(size=(300, len(model.feature_names))) * 3.0
    features[rng.random(features.shape) < 0.05] = np.nan
    original = features.copy()
    result = model.score_features(features)
    score, per_tag = reference_scores(model, features)
    np.testing.assert_array_equal(result.score, score)
    np.testing.assert_array_equal(result.contributions, per_tag)
    np.testing.assert_array_equal(features, original)  # the caller's features are left alone
