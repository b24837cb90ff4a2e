"""Predictive maintenance: features, model store, training, scoring, alert policy, print orders."""

from maintenance.alert_notices import AlertEvent, Notifier
from maintenance.alert_policy import (
    Action,
    ActiveAlert,
    AlertPolicy,
    ClearReason,
    Decision,
    Observation,
    Replacement,
    summarise,
)
from maintenance.alert_records import alarm_message
from maintenance.alert_store import (
    AlertStateError,
    AlertStore,
    AlertStoreError,
    UnknownAlertError,
)
from maintenance.alert_table import AlertRow, active_alert_rows, alert_rows, render_alert_table
from maintenance.alerts import AlarmSink, AlertService
from maintenance.anomaly import AnomalyResult, AnomalyScorer, AnomalySettings, fit_anomaly_scorer
from maintenance.catalogue import Catalogue
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
from maintenance.fleet_training import (
    Failure,
    FileSource,
    HistorianSource,
    TrainingOptions,
    TrainingReport,
    read_failures,
    train_command,
)
from maintenance.model_store import (
    ModelMetadata,
    ModelStore,
    StoredModel,
    dataset_digest,
)
from maintenance.notify import (
    DeliveryReport,
    Notification,
    NotifierError,
    WebhookNotifier,
    WebhookSecretError,
)
from maintenance.orders import (
    OrderBookError,
    OrderListener,
    OrderRequestError,
    OrderStateError,
    SqliteOrderBook,
    UnknownDesignError,
    UnknownOrderError,
)
from maintenance.pipeline import FeaturePipeline
from maintenance.rul import RulModel, RulPrediction, RulSettings, fit_rul_model
from maintenance.scoring import (
    ScoredMachine,
    ScoreHistory,
    ScoringError,
    ScoringService,
    machine_groups,
    scored_machines,
)
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
    "Action",
    "ActiveAlert",
    "AlarmSink",
    "AlertEvent",
    "AlertPolicy",
    "AlertRow",
    "AlertService",
    "AlertStateError",
    "AlertStore",
    "AlertStoreError",
    "AnomalyResult",
    "AnomalyScorer",
    "AnomalySettings",
    "Catalogue",
    "ClearReason",
    "ConditionNormaliser",
    "Decision",
    "DeliveryReport",
    "Failure",
    "FeatureInputError",
    "FeaturePipeline",
    "FeatureSpec",
    "FileSource",
    "HistorianSource",
    "HistoryColumns",
    "MaintenanceError",
    "ModelMetadata",
    "ModelMismatchError",
    "ModelStore",
    "ModelStoreError",
    "Notification",
    "Notifier",
    "NotifierError",
    "Observation",
    "OrderBookError",
    "OrderListener",
    "OrderRequestError",
    "OrderStateError",
    "Replacement",
    "RulModel",
    "RulPrediction",
    "RulSettings",
    "ScoreHistory",
    "ScoredMachine",
    "ScoringError",
    "ScoringService",
    "SqliteOrderBook",
    "Stat",
    "StoredModel",
    "TrainingDataError",
    "TrainingOptions",
    "TrainingReport",
    "UnknownAlertError",
    "UnknownDesignError",
    "UnknownOrderError",
    "WebhookNotifier",
    "WebhookSecretError",
    "Window",
    "WindowBuffer",
    "active_alert_rows",
    "alarm_message",
    "alert_rows",
    "band_coverage",
    "dataset_digest",
    "default_spec",
    "default_windows",
    "fit_anomaly_scorer",
    "fit_pipeline",
    "fit_rul_model",
    "history_features",
    "latest_windows",
    "machine_groups",
    "mean_band_width",
    "phm08_score",
    "read_failures",
    "render_alert_table",
    "rmse",
    "run_to_failure_features",
    "scored_machines",
    "summarise",
    "train_anomaly_scorer",
    "train_command",
    "train_rul_model",
    "unit_windows",
    "window_features",
]
