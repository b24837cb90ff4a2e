"""RMSE, the PHM08 score and band coverage on values worked out by hand."""

from __future__ import annotations

import math

import pytest

from maintenance.errors import MaintenanceError
from maintenance.evaluation import band_coverage, mean_band_width, phm08_score, rmse


def test_phm08_penalises_by_hand_computed_amounts() -> None:
    # d = predicted − true: −13 (early) → e¹ − 1; +10 (late) → e¹ − 1; 0 → 0; +20 → e² − 1.
    predicted = [87.0, 60.0, 30.0, 45.0]
    actual = [100.0, 50.0, 30.0, 25.0]
    expected = (math.e - 1) + (math.e - 1) + 0.0 + (math.e**2 - 1)
    assert phm08_score(predicted, actual) == pytest.approx(expected)


def test_phm08_punishes_lateness_more_than_earliness() -> None:
    assert phm08_score([110.0], [100.0]) > phm08_score([90.0], [100.0])
    assert phm08_score([110.0], [100.0]) == pytest.approx(math.e - 1)
    assert phm08_score([90.0], [100.0]) == pytest.approx(math.exp(10 / 13) - 1)


def test_rmse_of_hand_computed_errors() -> None:
    # errors 3 and −4: √((9 + 16) / 2)
    assert rmse([13.0, 16.0], [10.0, 20.0]) == pytest.approx(math.sqrt(12.5))
    assert rmse([5.0, 5.0], [5.0, 5.0]) == 0.0


def test_band_coverage_counts_edges_as_inside() -> None:
    lower = [0.0, 10.0, 10.0, 10.0]
    upper = [5.0, 20.0, 20.0, 20.0]
    actual = [5.0, 10.0, 21.0, 9.0]
    assert band_coverage(lower, upper, actual) == pytest.approx(0.5)
    assert mean_band_width(lower, upper) == pytest.approx(8.75)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(MaintenanceError):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(MaintenanceError):
        phm08_score([], [])
