"""The anomaly scorer reads the RUL pipeline's level statistics, not its trend ladder."""

from __future__ import annotations

from tests.unit.maintenance.maintenance_kit import small_anomaly_scorer, small_rul_model

TREND_LADDER_STATS = ("delta", "rstd")


def stats_of(features: list[str] | tuple[str, ...]) -> set[str]:
    """The window statistics among ``features``: ``temp__slope_w90`` → ``slope`` (not ``age``)."""
    return {name.split("__")[1].rsplit("_w", 1)[0] for name in features if "__" in name}


def test_anomaly_features_are_level_statistics_among_the_rul_features() -> None:
    rul_features = small_rul_model().feature_names
    anomaly_features = small_anomaly_scorer().feature_names
    assert stats_of(rul_features) >= set(TREND_LADDER_STATS)
    assert not stats_of(anomaly_features) & set(TREND_LADDER_STATS)
    assert set(anomaly_features) <= set(rul_features)  # one extraction can serve both models
