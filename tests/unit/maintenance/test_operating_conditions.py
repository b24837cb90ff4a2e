"""Operating conditions of C-MAPSS are found and sensors normalised within each of them."""

from __future__ import annotations

import numpy as np

from maintenance.conditions import ConditionNormaliser, count_operating_conditions
from maintenance.datasets import CMAPSS_SENSORS, CMAPSS_SETTINGS
from maintenance.features import default_windows
from maintenance.pipeline import FeaturePipeline
from tests.unit.maintenance.maintenance_kit import cmapss, first_units


def test_fd001_has_one_operating_condition_and_fd002_six() -> None:
    for subset, expected in (("FD001", 1), ("FD002", 6)):
        settings = cmapss(subset).train[list(CMAPSS_SETTINGS)].to_numpy()
        assert count_operating_conditions(settings) == expected


def fd002_normaliser() -> tuple[ConditionNormaliser, np.ndarray, np.ndarray]:
    train = first_units(cmapss("FD002").train, 60)
    settings = train[list(CMAPSS_SETTINGS)].to_numpy()
    sensors = train[list(CMAPSS_SENSORS)].to_numpy()
    return ConditionNormaliser.fit(settings, sensors, n_conditions=6), settings, sensors


def test_normalised_sensors_are_standard_within_every_condition() -> None:
    normaliser, settings, sensors = fd002_normaliser()
    condition = normaliser.condition_of(settings)
    normalised = normaliser.transform(settings, sensors)
    informative = normaliser.informative_sensors()
    for c in range(6):
        rows = normalised[condition == c][:, informative]
        varies = normaliser.sensor_std[c, informative] > 1e-9  # constant ones are only centred
        np.testing.assert_allclose(rows.mean(axis=0), 0.0, atol=1e-6)
        np.testing.assert_allclose(rows.std(axis=0), np.where(varies, 1.0, 0.0), atol=1e-6)
    # before normalisation the regime, not the engine's health, dominates every sensor
    raw_means = np.stack([sensors[condition == c][:, informative].mean(axis=0) for c in range(6)])
    raw_within = np.stack([sensors[condition == c][:, informative].std(axis=0) for c in range(6)])
    assert (raw_means.std(axis=0) > raw_within.max(axis=0)).mean() > 0.8


def test_windows_normalise_like_the_rows_they_hold() -> None:
    normaliser, settings, sensors = fd002_normaliser()
    rows = normaliser.transform(settings[:600], sensors[:600])
    windows = normaliser.transform(
        settings[:600].reshape(20, 30, 3), sensors[:600].reshape(20, 30, -1)
    )
    np.testing.assert_allclose(windows.reshape(600, -1), rows)


def test_a_sample_without_settings_normalises_to_missing() -> None:
    normaliser, settings, sensors = fd002_normaliser()
    holed = settings[:5].copy()
    holed[2, 1] = np.nan
    normalised = normaliser.transform(holed, sensors[:5])
    assert np.isnan(normalised[2]).all()
    assert np.isfinite(normalised[[0, 1, 3, 4]]).all()


def test_pipeline_drops_sensors_constant_in_fd001() -> None:
    train = first_units(cmapss("FD001").train, 30)
    columns = [*CMAPSS_SETTINGS, *CMAPSS_SENSORS]
    pipeline = FeaturePipeline.fit(
        train[columns].to_numpy(),
        condition_tags=CMAPSS_SETTINGS,
        sensor_tags=CMAPSS_SENSORS,
        windows=default_windows(),
    )
    constant = {tag for tag in CMAPSS_SENSORS if train[tag].nunique() == 1}
    assert constant, "FD001 has sensors that never change"
    assert not constant & set(pipeline.spec.tags)
    assert pipeline.input_tags == (*CMAPSS_SETTINGS, *CMAPSS_SENSORS)


def test_the_nearest_centre_is_the_condition_k_means_assigns() -> None:
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(8)
    centres = rng.uniform(-20, 20, size=(5, 3))
    settings = centres[rng.integers(0, 5, 2000)] + rng.normal(scale=3.0, size=(2000, 3))
    sensors = rng.normal(size=(2000, 4))
    normaliser = ConditionNormaliser.fit(settings[:1500], sensors[:1500], n_conditions=5, seed=3)
    standardised = (settings - normaliser.setting_centre) / normaliser.setting_scale
    kmeans = KMeans(n_clusters=5, n_init=10, random_state=3).fit(standardised[:1500])
    np.testing.assert_array_equal(normaliser.centroids, kmeans.cluster_centers_)
    np.testing.assert_array_equal(normaliser.condition_of(settings), kmeans.predict(standardised))
    np.testing.assert_array_equal(normaliser.condition_of(settings[:1500]), kmeans.labels_)
