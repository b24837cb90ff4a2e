"""Unsupervised anomaly score: robust Mahalanobis distance of window features from a baseline."""

# Fitted on a healthy baseline period: each feature is robustly standardised (median, scaled MAD),
# the covariance of the clipped standardised features is shrunk (Ledoit & Wolf 2004), and a
# machine's squared distance d² = zᵀ P z (P the precision matrix) is split into per-signal parts
# with the complete-decomposition contributions c_f = z_f (P z)_f (Alcala & Qin 2009), summed over
# the features of each tag. The score is d² divided by the baseline's ``threshold_quantile``
# quantile of d², so 1.0 is the edge of normal and the contributions add up to the score.

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field

from maintenance.errors import FeatureInputError, TrainingDataError
from maintenance.features import FloatArray
from maintenance.pipeline import FeaturePipeline
from models import Frozen

_MAD_TO_SIGMA = 1.4826
"""Scaled median absolute deviation estimates σ for normal data."""
_CENTRAL_98_TO_SIGMA = 2 * 2.3263
"""Width of the central 98 % of a normal distribution, in σ."""


class AnomalySettings(Frozen):
    """How the baseline is summarised and where normal ends."""

    threshold_quantile: float = Field(0.99, gt=0.5, lt=1, description="baseline d² at score 1")
    z_clip: float = Field(8.0, gt=0, description="|z| clip when estimating the covariance")
    min_scale: float = Field(1e-3, gt=0, description="floor on a feature's robust scale")


@dataclass(frozen=True, eq=False)
class AnomalyResult:
    """Anomaly score per machine and each tag's share of it."""

    score: FloatArray
    """``(machines,)``; 1.0 at the baseline's threshold quantile."""
    contributions: FloatArray
    """``(machines, tags)``; each row sums to the machine's score (parts may be negative)."""
    tags: tuple[str, ...]

    def top_signals(self, machine: int, count: int = 3) -> tuple[tuple[str, float], ...]:
        """The ``count`` tags contributing most to one machine's score, largest first."""
        row = self.contributions[machine]
        order = np.argsort(-row, kind="stable")[:count]
        return tuple((self.tags[i], float(row[i])) for i in order)

    def top_contributors(self, count: int = 3) -> list[tuple[str, ...]]:
        """Per machine, the names of the ``count`` tags contributing most, largest first, those
        with a positive share only (all machines in one sort).

        Sorted largest first (NaN last), a row's positive shares come before the others, so
        each machine's names are the first ``positive`` of its top ``count``.
        """
        order = np.argsort(-self.contributions, axis=1, kind="stable")[:, :count]
        shares = np.take_along_axis(self.contributions, order, axis=1)
        positive = np.count_nonzero(shares > 0, axis=1).tolist()
        names = np.asarray(self.tags, dtype=object)[order].tolist()
        return [tuple(row[:kept]) for row, kept in zip(names, positive, strict=True)]


@dataclass(frozen=True, eq=False)
class AnomalyScorer:
    """A baseline's robust centre, scale and shrunk precision over the pipeline's features."""

    kind: ClassVar[str] = "anomaly"
    model_version: ClassVar[int] = 1

    pipeline: FeaturePipeline
    settings: AnomalySettings
    centre: FloatArray
    scale: FloatArray
    precision: FloatArray
    threshold: float
    """Baseline squared distance at ``settings.threshold_quantile``."""

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.pipeline.feature_names

    @property
    def tags(self) -> tuple[str, ...]:
        """Signals the contributions are reported for."""
        return self.pipeline.spec.tags

    def score(self, windows: FloatArray) -> AnomalyResult:
        """Scores of ``(machines, time, input tags)`` windows."""
        return self.score_features(self.pipeline.transform(windows))

    def score_features(self, features: FloatArray) -> AnomalyResult:
        """Scores from the pipeline's features (shared with the RUL model in a tick).

        One matrix product for all machines; the contributions are formed in its result.
        """
        z = self._standardised(features)
        parts = z @ self.precision
        parts *= z
        per_tag = parts.reshape(parts.shape[0], len(self.tags), -1).sum(axis=2)
        per_tag /= self.threshold
        return AnomalyResult(per_tag.sum(axis=1), per_tag, self.tags)

    def _standardised(self, features: FloatArray) -> FloatArray:
        """Robust z-scores, 0 where a feature is missing (a new array)."""
        matrix = np.asarray(features, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != self.centre.shape[0]:
            raise FeatureInputError(
                f"expected (machines, {self.centre.shape[0]}) features, got {matrix.shape}"
            )
        z = np.subtract(matrix, self.centre)
        z /= self.scale
        np.copyto(z, 0.0, where=~np.isfinite(z))
        return z


def fit_anomaly_scorer(
    pipeline: FeaturePipeline, baseline: FloatArray, settings: AnomalySettings | None = None
) -> AnomalyScorer:
    """Learn what normal looks like from ``(rows, features)`` of a healthy period."""
    from sklearn.covariance import LedoitWolf  # fitting only: scoring needs no scikit-learn

    settings = settings or AnomalySettings()
    matrix = np.asarray(baseline, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != len(pipeline.feature_names):
        raise TrainingDataError(
            f"baseline must be (rows, {len(pipeline.feature_names)}), got {matrix.shape}"
        )
    if matrix.shape[0] < 10:
        raise TrainingDataError(f"a baseline of {matrix.shape[0]} rows is too small (need ≥ 10)")
    centre, scale = _robust_centre_and_scale(matrix, settings.min_scale)
    z = np.clip(np.nan_to_num((matrix - centre) / scale), -settings.z_clip, settings.z_clip)
    precision = np.asarray(LedoitWolf(assume_centered=True).fit(z).precision_, dtype=np.float64)
    distances = np.einsum("nf,fg,ng->n", z, precision, z)
    threshold = float(np.quantile(distances, settings.threshold_quantile))
    return AnomalyScorer(pipeline, settings, centre, scale, precision, max(threshold, 1e-12))


def _robust_centre_and_scale(matrix: FloatArray, min_scale: float) -> tuple[FloatArray, FloatArray]:
    """Median, and the larger of two robust σ estimates, floored at ``min_scale``.

    The scaled MAD alone collapses to ~0 for a quantised signal that sits on one level with rare
    blips, making every blip look like dozens of σ; the 1st–99th percentile range over 2·z₀.₉₉
    (also σ for normal data) keeps such a feature's normal tails normal.
    """
    centre = np.nanmedian(matrix, axis=0)
    mad_sigma = _MAD_TO_SIGMA * np.nanmedian(np.abs(matrix - centre), axis=0)
    low, high = np.nanpercentile(matrix, [1.0, 99.0], axis=0)
    tail_sigma = (high - low) / _CENTRAL_98_TO_SIGMA
    spread = np.fmax(mad_sigma, tail_sigma)
    scale = np.where(np.isfinite(spread) & (spread > min_scale), spread, min_scale)
    return np.where(np.isfinite(centre), centre, 0.0), scale
