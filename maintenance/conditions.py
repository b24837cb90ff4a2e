"""Per-operating-condition normalisation of sensor samples (C-MAPSS multi-condition practice)."""

# A machine that runs in several regimes (altitude, load, speed set-points) shows sensor levels that
# jump with the regime, which hides slow degradation. Following the C-MAPSS literature (e.g. Wang
# et al., PHM 2008), the regimes are found by clustering the operating-setting tags (k-means), and
# each sensor sample is standardised with the mean and standard deviation of its regime. With one
# condition this is plain standardisation. Every function works on arrays of any leading shape
# (``(samples, tags)`` for training tables, ``(machines, time, tags)`` for scoring windows), so the
# two paths share the same arithmetic. k-means runs when fitting only: the normaliser keeps the
# cluster centres, and a sample's condition is its nearest centre (what ``KMeans.predict`` does),
# computed with numpy so that scoring needs no scikit-learn.

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from maintenance.errors import FeatureInputError, TrainingDataError
from maintenance.features import FloatArray, IntArray

_MIN_SCALE = 1e-9


@dataclass(frozen=True, eq=False)
class ConditionNormaliser:
    """Operating-condition centroids and per-condition sensor means and standard deviations."""

    setting_centre: FloatArray
    """Mean of each setting tag, used to standardise settings before the nearest centroid."""
    setting_scale: FloatArray
    centroids: FloatArray
    """``(conditions, settings)`` in standardised setting units."""
    sensor_mean: FloatArray
    """``(conditions, sensors)``."""
    sensor_std: FloatArray
    """``(conditions, sensors)``; 0 where a sensor is constant within the condition."""

    @property
    def n_conditions(self) -> int:
        return int(self.centroids.shape[0])

    @classmethod
    def fit(
        cls, settings: FloatArray, sensors: FloatArray, *, n_conditions: int, seed: int = 0
    ) -> ConditionNormaliser:
        """Cluster ``(samples, settings)`` into conditions and measure ``(samples, sensors)``."""
        settings, sensors = _finite_rows(settings, sensors)
        if settings.shape[0] < max(n_conditions, 2):
            raise TrainingDataError(
                f"{settings.shape[0]} complete samples cannot define {n_conditions} conditions"
            )
        centre, scale = _centre_and_scale(settings)
        centroids, labels = _cluster(
            (settings - centre) / scale, n_conditions=n_conditions, seed=seed
        )
        sensor_mean = np.stack([sensors[labels == c].mean(axis=0) for c in range(n_conditions)])
        sensor_std = np.stack([sensors[labels == c].std(axis=0) for c in range(n_conditions)])
        return cls(centre, scale, centroids, sensor_mean, sensor_std)

    def condition_of(self, settings: FloatArray) -> IntArray:
        """Index of the nearest condition for every sample, shape ``settings.shape[:-1]``.

        A sample with a missing setting gets condition 0; :meth:`transform` blanks it.
        """
        return self._nearest(np.asarray(settings, dtype=np.float64))[0]

    def transform(self, settings: FloatArray, sensors: FloatArray) -> FloatArray:
        """Sensors standardised within their sample's condition; NaN where a setting is NaN.

        A sensor constant within a condition is only centred there (scale 1).
        """
        values = np.asarray(sensors, dtype=np.float64)
        if values.shape[-1] != self.sensor_mean.shape[1]:
            known_sensors = self.sensor_mean.shape[1]
            raise FeatureInputError(
                f"{values.shape[-1]} sensors given, the normaliser knows {known_sensors}"
            )
        inverse_scale = 1.0 / np.where(self.sensor_std > _MIN_SCALE, self.sensor_std, 1.0)
        if self.n_conditions == 1:
            return np.asarray((values - self.sensor_mean[0]) * inverse_scale[0], dtype=np.float64)
        condition, known = self._nearest(np.asarray(settings, dtype=np.float64))
        normalised = (values - np.take(self.sensor_mean, condition, axis=0)) * np.take(
            inverse_scale, condition, axis=0
        )
        if not known.all():
            normalised[~known] = np.nan
        return normalised

    def _nearest(self, settings: FloatArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        """Nearest condition per sample and whether all of the sample's settings are finite."""
        shape = settings.shape[:-1]
        # One contiguous row per setting keeps the arithmetic on contiguous memory.
        rows = np.moveaxis(settings, -1, 0).reshape(settings.shape[-1], -1)
        standardised = (rows - self.setting_centre[:, None]) / self.setting_scale[:, None]
        known = np.isfinite(standardised.sum(axis=0))
        if self.n_conditions == 1:
            return np.zeros(shape, dtype=np.intp), known.reshape(shape)
        nearest = np.zeros(standardised.shape[1], dtype=np.intp)
        best = _squared_distance(standardised, self.centroids[0])
        for condition in range(1, self.n_conditions):
            distance = _squared_distance(standardised, self.centroids[condition])
            closer = distance < best
            nearest[closer] = condition
            np.minimum(best, distance, out=best)
        return nearest.reshape(shape), known.reshape(shape)

    def informative_sensors(self, *, min_std: float = 1e-6) -> npt.NDArray[np.bool_]:
        """Boolean mask of sensors that vary within at least one condition."""
        return np.asarray((self.sensor_std > min_std).any(axis=0))

    def restricted_to(self, sensors: IntArray) -> ConditionNormaliser:
        """The same conditions, normalising only the sensors at the given indices."""
        return replace(
            self,
            sensor_mean=np.ascontiguousarray(self.sensor_mean[:, sensors]),
            sensor_std=np.ascontiguousarray(self.sensor_std[:, sensors]),
        )


def _squared_distance(columns: FloatArray, centroid: FloatArray) -> FloatArray:
    """Squared distance of every sample (one row per coordinate) to one centroid."""
    total: FloatArray = np.square(columns[0] - centroid[0])
    for row, coordinate in zip(columns[1:], centroid[1:], strict=True):
        total += np.square(row - coordinate)
    return total


def _finite_rows(settings: FloatArray, sensors: FloatArray) -> tuple[FloatArray, FloatArray]:
    settings = np.asarray(settings, dtype=np.float64)
    sensors = np.asarray(sensors, dtype=np.float64)
    if settings.ndim != 2 or sensors.ndim != 2 or settings.shape[0] != sensors.shape[0]:
        raise TrainingDataError(
            f"settings {settings.shape} and sensors {sensors.shape} must be (samples, columns) "
            "with the same number of samples"
        )
    complete = np.isfinite(settings).all(axis=1) & np.isfinite(sensors).all(axis=1)
    return settings[complete], sensors[complete]


def _centre_and_scale(settings: FloatArray) -> tuple[FloatArray, FloatArray]:
    centre = settings.mean(axis=0)
    spread = settings.std(axis=0)
    return centre, np.where(spread > _MIN_SCALE, spread, 1.0)


def _cluster(
    standardised: FloatArray, *, n_conditions: int, seed: int
) -> tuple[FloatArray, IntArray]:
    if n_conditions == 1:
        centroid = standardised.mean(axis=0, keepdims=True)
        return centroid, np.zeros(standardised.shape[0], dtype=np.intp)
    from sklearn.cluster import KMeans

    kmeans = KMeans(n_clusters=n_conditions, n_init=10, random_state=seed).fit(standardised)
    labels = np.asarray(kmeans.labels_, dtype=np.intp)
    empty = [c for c in range(n_conditions) if not (labels == c).any()]
    if empty:
        raise TrainingDataError(f"operating conditions {empty} received no samples")
    return np.asarray(kmeans.cluster_centers_, dtype=np.float64), labels


def count_operating_conditions(
    settings: FloatArray, *, decimals: int = 0, min_share: float = 0.01
) -> int:
    """Distinct operating conditions in ``(samples, settings)``: rounded setting combinations.

    Combinations holding less than ``min_share`` of the samples are noise, not conditions.
    """
    rows = np.round(np.asarray(settings, dtype=np.float64), decimals) + 0.0  # -0.0 → 0.0
    rows = rows[np.isfinite(rows).all(axis=1)]
    if rows.shape[0] == 0:
        raise TrainingDataError("no sample has all its settings")
    _, counts = np.unique(rows, axis=0, return_counts=True)
    return max(int((counts >= min_share * rows.shape[0]).sum()), 1)
