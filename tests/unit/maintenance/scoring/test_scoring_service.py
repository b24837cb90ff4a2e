"""ScoringService on synthetic machines: RUL falls, one alert and one order, refusals, bootstrap."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from connectors.simulated import ManualClock
from maintenance import AlertService, AlertStore
from maintenance.errors import ModelMismatchError
from maintenance.features import FloatArray
from maintenance.fleet_training import RunTable, train_table
from maintenance.model_store import ModelStore
from maintenance.orders import SqliteOrderBook
from maintenance.score_history import ScoreHistory
from maintenance.scoring import ScoringService
from maintenance.training import HistoryColumns
from models import HealthScore, HealthState
from tests.unit.maintenance.scoring.scoring_kit import (
    OPTIONS,
    SETTINGS,
    T0,
    hour,
    machine,
    readings_at,
    signals,
    stored_scores,
    training_table,
)

ASYNC = pytest.mark.asyncio(loop_scope="session")

LIFE = 300
"""Samples until the degrading machine fails."""


@pytest.fixture(scope="module")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """rul-deg-1 and anomaly-deg-1, trained once for the module."""
    store = ModelStore(tmp_path_factory.mktemp("models"))
    train_table(training_table(), "deg-1", store, OPTIONS, lambda line: None)
    return store


@ASYNC
async def test_a_degrading_machine_gets_falling_rul_one_alert_and_one_order(
    tmp_path: Path, trained_store: ModelStore
) -> None:
    rng = np.random.default_rng(7)
    samples = {"deg-1": signals(LIFE, rng), "ok-1": signals(LIFE, rng, fails=False)}
    clock = ManualClock(T0)
    alert_store = AlertStore(tmp_path / "alerts.sqlite")
    orders = SqliteOrderBook(tmp_path / "orders.sqlite", clock=clock)
    history = ScoreHistory(tmp_path / "health.sqlite")
    published: list[HealthScore] = []

    async def publish(score: HealthScore) -> None:
        published.append(score)

    try:
        alerts = await AlertService.start(alert_store, orders, SETTINGS, clock=clock)
        service = ScoringService(
            [machine("deg-1"), machine("ok-1")],
            trained_store,
            SETTINGS,
            clock,
            publish=publish,
            history=history,
            alerts=alerts,
        )
        for index in range(LIFE):
            clock.set(hour(index))
            await service.put(readings_at(index, samples))
            await service.tick()
        placed = await orders.list_orders()
        raised = alert_store.recent()
        degrading = stored_scores(tmp_path / "health.sqlite", "deg-1")
    finally:
        await orders.close()
        alert_store.close()
        history.close()
    rul = [score.rul for score, _ in degrading]
    assert all(component == "bearing" for _, component in degrading)
    assert rul[0] is not None
    assert rul[-1] is not None
    assert rul[-1] < 30 < 80 < rul[0]
    assert [(a.machine, a.component) for a in raised] == [("deg-1", "bearing")]
    assert [(o.alert_id, o.design_id) for o in placed] == [(raised[0].id, "bearing-cage")]
    lead_h = SETTINGS.spare_parts[0].lead_time_h
    assert placed[0].created_at <= hour(LIFE) - np.timedelta64(int(lead_h), "h").item()
    assert {s.machine for s in published} == {"deg-1", "ok-1"}
    assert published[-1].model_version == "anomaly-deg-1 v1 + rul-deg-1 v1"


def test_a_model_trained_on_other_tags_is_refused(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    table = training_table(units=6)
    renamed = table.frame.rename(columns={"vibration_rms": "motor_current"})
    other = RunTable(renamed, HistoryColumns("unit", "time", (), ("bearing_temp", "motor_current")))
    train_table(other, "deg-1", store, OPTIONS.model_copy(update={"held_out_fraction": 0.2}), print)
    with pytest.raises(ModelMismatchError, match=r"trained on tags .*motor_current"):
        ScoringService([machine("deg-1")], store, SETTINGS, ManualClock(T0))


@ASYNC
async def test_without_a_model_a_baseline_is_learnt_then_scores_flag_a_fault(
    tmp_path: Path,
) -> None:
    store = ModelStore(tmp_path)
    clock = ManualClock(T0)
    service = ScoringService([machine("fresh-1")], store, SETTINGS, clock)
    rng = np.random.default_rng(3)
    healthy = signals(SETTINGS.baseline_samples + 20, rng, fails=False)
    made: list[list[HealthScore]] = []
    for index in range(healthy.shape[0]):
        clock.set(hour(index))
        await service.put(readings_at(index, {"fresh-1": healthy}))
        made.append(await service.tick())
    first_scored = next(i for i, scores in enumerate(made) if scores)
    assert first_scored == SETTINGS.baseline_samples + 1  # the first tick starts the sampling
    assert store.versions("anomaly-fresh-1") == [1]
    assert made[-1][0].rul is None
    assert made[-1][0].state is HealthState.NORMAL
    faulty = healthy[-1:] + np.array([[0.0, 3.0]])
    for step in range(5):
        clock.set(hour(healthy.shape[0] + step))
        await service.put(readings_at(0, {"fresh-1": faulty}))
        scores = await service.tick()
    assert scores[0].anomaly_score > SETTINGS.alarm_above
    assert scores[0].top_contributors[0] == "vibration_rms"
    assert scores[0].model_version == "anomaly-fresh-1 v1 (baseline)"
    restarted = ScoringService([machine("fresh-1")], store, SETTINGS, clock)
    assert restarted.models_of("fresh-1") is not None


async def test_ticks_running_a_hair_early_still_sample_every_interval(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    clock = ManualClock(T0)
    service = ScoringService([machine("early-1")], store, SETTINGS, clock)
    rng = np.random.default_rng(5)
    healthy = signals(SETTINGS.baseline_samples + 20, rng, fails=False)
    made: list[list[HealthScore]] = []
    for index in range(healthy.shape[0]):
        early = timedelta(milliseconds=1) if index else timedelta(0)  # scheduler jitter
        clock.set(hour(index) - early)
        await service.put(readings_at(index, {"early-1": healthy}))
        made.append(await service.tick())
    first_scored = next(i for i, scores in enumerate(made) if scores)
    assert first_scored == SETTINGS.baseline_samples + 1, "no interval may be skipped"


def test_the_rul_features_hold_the_anomaly_features_so_a_tick_extracts_once(
    trained_store: ModelStore,
) -> None:
    service = ScoringService([machine("deg-1")], trained_store, SETTINGS, ManualClock(T0))
    models = service.models_of("deg-1")
    assert models is not None
    assert models.rul is not None
    columns = models.shared_columns()
    assert columns is not None
    rng = np.random.default_rng(11)
    windows = np.stack([signals(models.history, rng) for _ in range(4)])
    shared = models.anomaly.score_features(models.rul.pipeline.transform(windows)[:, columns])
    own = models.anomaly.score(windows)
    np.testing.assert_allclose(shared.score, own.score)
    np.testing.assert_allclose(shared.contributions, own.contributions)


def column(scores: list[HealthScore], name: str) -> FloatArray:
    """One numeric field of every score (NaN where it is None)."""
    values = [getattr(score, name) for score in scores]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@ASYNC
async def test_each_tick_scores_as_the_models_score_the_raw_windows(
    trained_store: ModelStore,
) -> None:
    """Prepared samples kept between ticks give the scores of the models' own extraction."""
    rng = np.random.default_rng(13)
    raw = np.stack([signals(LIFE, rng), signals(LIFE, rng, fails=False)])
    raw[0, ::7, 1] = np.nan  # deg-1's vibration is missed every 7th sample
    raw[1, ::11, :] = np.nan  # ok-1 sends nothing every 11th sample
    ids = ("deg-1", "ok-1")
    clock = ManualClock(T0)
    service = ScoringService([machine(i) for i in ids], trained_store, SETTINGS, clock)
    models = service.models_of("deg-1")
    assert models is not None
    assert models.rul is not None
    await service.tick()  # starts the sampling: each later tick closes one sample
    compared = 0
    for index in range(LIFE):
        clock.set(hour(index + 1))
        sent = {i: raw[row] for row, i in enumerate(ids)}
        await service.put([r for r in readings_at(index, sent) if r.value == r.value])  # NaN
        scores = await service.tick()
        if index + 1 < models.history:
            assert scores == []
            continue
        window = raw[:, index + 1 - models.history : index + 1, :]
        anomaly = models.anomaly.score(window)
        rul = models.rul.predict(window)
        np.testing.assert_allclose(column(scores, "anomaly_score"), anomaly.score, rtol=1e-9)
        np.testing.assert_allclose(column(scores, "rul"), rul.rul, rtol=1e-9)
        np.testing.assert_allclose(column(scores, "rul_low"), rul.lower, rtol=1e-9)
        np.testing.assert_allclose(column(scores, "rul_high"), rul.upper, rtol=1e-9)
        assert [s.top_contributors for s in scores] == anomaly.top_contributors(3)
        compared += 1
    assert compared == LIFE + 1 - models.history
