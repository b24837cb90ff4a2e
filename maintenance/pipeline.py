"""From raw tag windows to model features: condition normalisation, tag selection, statistics."""

# One ``FeaturePipeline`` is fitted with a model and saved inside it, so the features a model is
# scored on are computed by exactly the code and parameters it was trained with.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from maintenance.conditions import ConditionNormaliser
from maintenance.errors import FeatureInputError, TrainingDataError
from maintenance.features import FeatureSpec, FloatArray, IntArray, Window, window_features


@dataclass(frozen=True, eq=False)
class FeaturePipeline:
    """Input tags (settings then sensors) → per-condition normalised sensors → window features."""

    condition_tags: tuple[str, ...]
    sensor_tags: tuple[str, ...]
    normaliser: ConditionNormaliser | None
    """Normalises the kept sensors only."""
    kept_sensors: IntArray
    """Indices into ``sensor_tags`` of the sensors that carry information."""
    spec: FeatureSpec
    """Statistics over the kept sensors."""

    @property
    def input_tags(self) -> tuple[str, ...]:
        """The tags, in order, along the last axis of the windows callers pass in."""
        return self.condition_tags + self.sensor_tags

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.spec.names

    @property
    def history(self) -> int:
        """Samples per machine the pipeline needs."""
        return self.spec.history

    @classmethod
    def fit(
        cls,
        samples: FloatArray,
        *,
        condition_tags: Sequence[str],
        sensor_tags: Sequence[str],
        windows: Sequence[Window],
        n_conditions: int = 1,
        normalise: bool = True,
        seed: int = 0,
    ) -> FeaturePipeline:
        """Learn conditions and drop constant sensors from ``(samples, input tags)`` rows."""
        rows = np.asarray(samples, dtype=np.float64)
        n_settings = len(condition_tags)
        if rows.ndim != 2 or rows.shape[1] != n_settings + len(sensor_tags):
            raise TrainingDataError(
                f"expected (samples, {n_settings + len(sensor_tags)}) rows, got {rows.shape}"
            )
        normaliser = (
            ConditionNormaliser.fit(
                rows[:, :n_settings], rows[:, n_settings:], n_conditions=n_conditions, seed=seed
            )
            if normalise
            else None
        )
        informative = (
            normaliser.informative_sensors()
            if normaliser is not None
            else np.nanstd(rows[:, n_settings:], axis=0) > 1e-6
        )
        kept = np.flatnonzero(informative).astype(np.intp)
        if kept.size == 0:
            raise TrainingDataError("every sensor is constant in the training data")
        spec = FeatureSpec(tags=tuple(sensor_tags[int(i)] for i in kept), windows=tuple(windows))
        restricted = normaliser.restricted_to(kept) if normaliser is not None else None
        return cls(tuple(condition_tags), tuple(sensor_tags), restricted, kept, spec)

    def with_windows(self, windows: Sequence[Window]) -> FeaturePipeline:
        """The same conditions and sensors, with other window statistics."""
        return replace(self, spec=FeatureSpec(tags=self.spec.tags, windows=tuple(windows)))

    def prepare(self, samples: FloatArray) -> FloatArray:
        """Normalised kept sensors of samples of any leading shape ``(..., input tags)``."""
        values = np.asarray(samples, dtype=np.float64)
        if values.shape[-1] != len(self.input_tags):
            raise FeatureInputError(
                f"samples have {values.shape[-1]} tags, the pipeline expects "
                f"{len(self.input_tags)}: {self.input_tags}"
            )
        n_settings = len(self.condition_tags)
        sensors = np.take(values, n_settings + self.kept_sensors, axis=-1)
        if self.normaliser is None:
            return sensors
        return self.normaliser.transform(values[..., :n_settings], sensors)

    def transform(self, windows: FloatArray) -> FloatArray:
        """Features of ``(machines, time, input tags)`` windows, ``(machines, features)``."""
        values = np.asarray(windows, dtype=np.float64)
        if values.ndim != 3:
            raise FeatureInputError(f"expected machines × time × tags, got shape {values.shape}")
        return window_features(self.prepare(values[:, -self.history :, :]), self.spec)
