"""Predictive maintenance: features, model store, training, scoring, alert policy, print orders."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from maintenance.alert_budgets import HeldBackReport, held_back_report, render_held_back
from maintenance.alert_records import alarm_message
from maintenance.alert_store import AlertStore
from maintenance.alert_table import AlertRow, active_alert_rows, render_alert_table
from maintenance.alerts import AlertService
from maintenance.catalogue import Catalogue
from maintenance.cmms import (
    ClosureInvalidError,
    ClosureReceiver,
    ClosureSecretError,
    WorkRequestDesk,
    parsed_closure,
)
from maintenance.errors import MaintenanceError, ModelMismatchError
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
from maintenance.training_options import (
    TIME,
    UNIT,
    Failure,
    RetrainOutcome,
    TrainingOptions,
    closure_labels,
    site_training_options,
)
from maintenance.training_stop import (
    StopSignal,
    TrainingStoppedError,
    check_stop,
    stop_when_cancelled,
)
from maintenance.work_request_store import WorkRequestStore
from maintenance.work_requests import (
    Closure,
    WorkRequest,
    WorkRequestError,
    WorkRequestStatus,
    from_alert,
    work_request_schema,
)

if TYPE_CHECKING:
    from maintenance.fleet_training import (
        FileSource,
        HistorianSource,
        RunTable,
        retrain_from_historian,
        retrain_if_better,
        train_command,
        train_table,
    )
    from maintenance.training import HistoryColumns

_TRAINING_NAMES = {
    **dict.fromkeys(
        (
            "FileSource",
            "HistorianSource",
            "RunTable",
            "retrain_from_historian",
            "retrain_if_better",
            "train_command",
            "train_table",
        ),
        "maintenance.fleet_training",
    ),
    "HistoryColumns": "maintenance.training",
}
"""Public names of the training code, imported on first use (PEP 562): it imports pandas and
scikit-learn, which the running site needs only when it trains."""


def __getattr__(name: str) -> Any:
    home = _TRAINING_NAMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "TIME",
    "UNIT",
    "AlertRow",
    "AlertService",
    "AlertStore",
    "Catalogue",
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
    "StopSignal",
    "TrainingOptions",
    "TrainingStoppedError",
    "WebhookNotifier",
    "WorkRequest",
    "WorkRequestDesk",
    "WorkRequestError",
    "WorkRequestStatus",
    "WorkRequestStore",
    "active_alert_rows",
    "alarm_message",
    "check_stop",
    "closure_labels",
    "from_alert",
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
    "stop_when_cancelled",
    "train_command",
    "train_table",
    "work_request_schema",
]
