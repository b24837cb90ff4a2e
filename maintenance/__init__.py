"""Predictive maintenance: features, model store, training, scoring, alert policy, print orders."""

from maintenance.alert_budgets import HeldBackReport, held_back_report, render_held_back
from maintenance.alert_records import alarm_message
from maintenance.alert_store import AlertStore
from maintenance.alert_table import AlertRow, active_alert_rows, render_alert_table
from maintenance.alerts import AlertService
from maintenance.cmms import (
    ClosureInvalidError,
    ClosureReceiver,
    ClosureSecretError,
    WorkRequestDesk,
    parsed_closure,
)
from maintenance.errors import MaintenanceError, ModelMismatchError
from maintenance.fleet_training import (
    TIME,
    UNIT,
    Failure,
    FileSource,
    HistorianSource,
    RetrainOutcome,
    RunTable,
    TrainingOptions,
    closure_labels,
    retrain_from_historian,
    retrain_if_better,
    site_training_options,
    train_command,
    train_table,
)
from maintenance.model_store import ModelStore
from maintenance.notify import Notification, WebhookNotifier
from maintenance.orders import SqliteOrderBook
from maintenance.rul import RulSettings
from maintenance.score_history import ScoreHistory
from maintenance.scoring import ScoringService
from maintenance.scoring_groups import (
    MachineGroup,
    ScoredMachine,
    load_group_models,
    machine_groups,
    scored_machines,
)
from maintenance.training import HistoryColumns
from maintenance.work_request_store import WorkRequestStore
from maintenance.work_requests import (
    Closure,
    WorkRequest,
    WorkRequestError,
    WorkRequestStatus,
    work_request_schema,
)

__all__ = [
    "TIME",
    "UNIT",
    "AlertRow",
    "AlertService",
    "AlertStore",
    "Closure",
    "ClosureInvalidError",
    "ClosureReceiver",
    "ClosureSecretError",
    "Failure",
    "FileSource",
    "HeldBackReport",
    "HistorianSource",
    "HistoryColumns",
    "MachineGroup",
    "MaintenanceError",
    "ModelMismatchError",
    "ModelStore",
    "Notification",
    "RetrainOutcome",
    "RulSettings",
    "RunTable",
    "ScoreHistory",
    "ScoredMachine",
    "ScoringService",
    "SqliteOrderBook",
    "TrainingOptions",
    "WebhookNotifier",
    "WorkRequest",
    "WorkRequestDesk",
    "WorkRequestError",
    "WorkRequestStatus",
    "WorkRequestStore",
    "active_alert_rows",
    "alarm_message",
    "closure_labels",
    "held_back_report",
    "load_group_models",
    "machine_groups",
    "parsed_closure",
    "render_alert_table",
    "render_held_back",
    "retrain_from_historian",
    "retrain_if_better",
    "scored_machines",
    "site_training_options",
    "train_command",
    "train_table",
    "work_request_schema",
]
