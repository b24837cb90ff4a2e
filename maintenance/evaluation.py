"""Figures of merit for RUL predictions: RMSE, the PHM08 score and prediction-band coverage."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from maintenance.errors import MaintenanceError

ArrayLike = npt.ArrayLike

EARLY_SCALE = 13.0
"""PHM08: scale of the penalty when the prediction is early (d < 0)."""
LATE_SCALE = 10.0
"""PHM08: scale of the penalty when the prediction is late (d ≥ 0), so lateness costs more."""


def _paired(predicted: ArrayLike, actual: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64).reshape(-1)
    a = np.asarray(actual, dtype=np.float64).reshape(-1)
    if p.shape != a.shape or p.size == 0:
        raise MaintenanceError(f"need equally long, non-empty arrays, got {p.size} and {a.size}")
    return p, a


def rmse(predicted: ArrayLike, actual: ArrayLike) -> float:
    """Root mean squared error."""
    p, a = _paired(predicted, actual)
    return float(np.sqrt(np.mean(np.square(p - a))))


def phm08_score(predicted: ArrayLike, actual: ArrayLike) -> float:
    """PHM08 challenge score (Saxena et al. 2008): Σ exp(−d/13) − 1 for d < 0, exp(d/10) − 1 else.

    ``d = predicted − actual``; lower is better, 0 is perfect.
    """
    p, a = _paired(predicted, actual)
    d = p - a
    penalties = np.where(d < 0, np.expm1(-d / EARLY_SCALE), np.expm1(d / LATE_SCALE))
    return float(penalties.sum())


def band_coverage(lower: ArrayLike, upper: ArrayLike, actual: ArrayLike) -> float:
    """Share of ``actual`` values inside ``[lower, upper]`` (edges included)."""
    low, high = _paired(lower, upper)
    _, truth = _paired(low, actual)
    return float(np.mean((truth >= low) & (truth <= high)))


def mean_band_width(lower: ArrayLike, upper: ArrayLike) -> float:
    """Average width of the prediction band."""
    low, high = _paired(lower, upper)
    return float(np.mean(high - low))
