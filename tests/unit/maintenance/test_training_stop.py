"""A training asked to stop gives up at its next stage and stores nothing."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from maintenance.fleet_training import retrain_if_better, train_table
from maintenance.model_store import ModelStore
from maintenance.scoring_groups import anomaly_model_name, rul_model_name
from maintenance.training_options import TrainingReport
from maintenance.training_stop import TrainingStoppedError
from tests.unit.maintenance.scoring.scoring_kit import OPTIONS, training_table

pytestmark = pytest.mark.usefixtures("one_thread")

GROUP = "deg-1"


class StopAtCheck:
    """A real ``threading.Event``, set by the training itself at its ``set_at``-th stage check
    (as shutdown would set it while that stage ran); counts every check."""

    def __init__(self, set_at: int | None) -> None:
        self.event = threading.Event()
        self.set_at = set_at
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        if self.checks == self.set_at:
            self.event.set()
        return self.event.is_set()


def stored(store: ModelStore) -> list[int]:
    return store.versions(rul_model_name(GROUP)) + store.versions(anomaly_model_name(GROUP))


@dataclass(frozen=True)
class WholeTraining:
    """One training with a stop signal that was never set."""

    checks: int
    report: TrainingReport
    store: ModelStore


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> WholeTraining:
    never = StopAtCheck(None)
    store = ModelStore(tmp_path_factory.mktemp("whole"))
    with threadpool_limits(limits=1):  # as the one_thread fixture, which is per test
        report = train_table(training_table(), GROUP, store, OPTIONS, lambda line: None, never)
    return WholeTraining(never.checks, report, store)


def test_a_whole_training_checks_between_every_fold_and_model(whole: WholeTraining) -> None:
    # two RUL models (held-out trial, then all units): features + 3 folds + final fit each;
    # then the evaluation, the anomaly scorer and the storing
    assert whole.checks == 2 * (1 + OPTIONS.rul.folds + 1) + 3
    assert stored(whole.store) == [1, 1]


def test_an_unset_stop_changes_nothing_in_the_models(whole: WholeTraining, tmp_path: Path) -> None:
    plain = train_table(training_table(), GROUP, ModelStore(tmp_path), OPTIONS, lambda line: None)
    assert plain.evaluation == whole.report.evaluation


@pytest.mark.parametrize("set_at", ["second", "last"])
def test_a_stopped_training_gives_up_at_the_next_check_and_stores_nothing(
    set_at: str, whole: WholeTraining, tmp_path: Path
) -> None:
    stop = StopAtCheck(2 if set_at == "second" else whole.checks)
    store = ModelStore(tmp_path)
    with pytest.raises(TrainingStoppedError, match="shutting down"):
        train_table(training_table(), GROUP, store, OPTIONS, lambda line: None, stop)
    assert stop.checks == stop.set_at  # no stage ran after the check that saw it set
    assert stored(store) == []


def test_a_stopped_retrain_leaves_the_current_models(whole: WholeTraining) -> None:
    stop = StopAtCheck(3)
    with pytest.raises(TrainingStoppedError):
        retrain_if_better(training_table(), GROUP, whole.store, OPTIONS, lambda line: None, stop)
    assert stored(whole.store) == [1, 1]
