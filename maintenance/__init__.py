"""Predictive maintenance: features, model store, training, scoring, alert policy, print orders."""

from maintenance.anomaly import AnomalyResult, AnomalyScorer, AnomalySettings, fit_anomaly_scorer
from maintenance.conditions import ConditionNormaliser
from maintenance.errors import (
    FeatureInputError,
    MaintenanceError,
    ModelMismatchError,
    ModelStoreError,
    TrainingDataError,
)
from maintenance.evaluation import band_coverage, mean_band_width, phm08_score, rmse
from maintenance.features import (
    FeatureSpec,
    Stat,
    Window,
    default_spec,
    default_windows,
    latest_windows,
    run_to_failure_features,
    window_features,
)
from maintenance.model_store import (
    ModelMetadata,
    ModelStore,
    StoredModel,
    dataset_digest,
)
from maintenance.pipeline import FeaturePipeline
from maintenance.rul import RulModel, RulPrediction, RulSettings, fit_rul_model
from maintenance.training import (
    HistoryColumns,
    fit_pipeline,
    history_features,
    train_anomaly_scorer,
    train_rul_model,
    unit_windows,
)
from maintenance.window_buffer import WindowBuffer

__all__ = [
    "AnomalyResult",
    "AnomalyScorer",
    "AnomalySettings",
    "ConditionNormaliser",
    "FeatureInputError",
    "FeaturePipeline",
    "FeatureSpec",
    "HistoryColumns",
    "MaintenanceError",
    "ModelMetadata",
    "ModelMismatchError",
    "ModelStore",
    "ModelStoreError",
    "RulModel",
    "RulPrediction",
    "RulSettings",
    "Stat",
    "StoredModel",
    "TrainingDataError",
    "Window",
    "WindowBuffer",
    "band_coverage",
    "dataset_digest",
    "default_spec",
    "default_windows",
    "fit_anomaly_scorer",
    "fit_pipeline",
    "fit_rul_model",
    "history_features",
    "latest_windows",
    "mean_band_width",
    "phm08_score",
    "rmse",
    "run_to_failure_features",
    "train_anomaly_scorer",
    "train_rul_model",
    "unit_windows",
    "window_features",
]
