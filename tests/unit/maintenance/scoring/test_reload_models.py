"""Models trained while the service runs take over at the next sample, buffered samples kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maintenance.fleet_training import train_table
from maintenance.model_store import ModelStore
from maintenance.scoring import ScoringService
from models import HealthState
from models.timebase import ManualClock
from tests.unit.maintenance.scoring.scoring_kit import (
    OPTIONS,
    SETTINGS,
    T0,
    hour,
    machine,
    readings_at,
    signals,
    training_table,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_reloaded_models_score_at_once_from_the_buffered_samples(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    clock = ManualClock(T0)
    service = ScoringService([machine("deg-1")], store, SETTINGS, clock)
    samples = {"deg-1": signals(OPTIONS.long_window + 5, np.random.default_rng(5), fails=False)}
    for index in range(OPTIONS.long_window + 4):
        clock.set(hour(index))
        await service.put(readings_at(index, samples))
        assert await service.tick() == [], "no model yet, and too few samples for a baseline"
    assert service.reload_models() == [], "nothing stored yet"
    train_table(training_table(), "deg-1", store, OPTIONS, lambda line: None)
    assert service.reload_models() == ["deg-1"]
    assert service.reload_models() == [], "the same version is not loaded twice"
    last = OPTIONS.long_window + 4
    clock.set(hour(last))
    await service.put(readings_at(last, samples))
    [score] = await service.tick()
    assert score.rul is not None
    assert score.rul_low is not None
    assert score.model_version == "anomaly-deg-1 v1 + rul-deg-1 v1"


async def test_a_replaced_part_is_scored_on_the_samples_taken_since(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    train_table(training_table(), "deg-1", store, OPTIONS, lambda line: None)
    clock = ManualClock(T0)
    service = ScoringService([machine("deg-1")], store, SETTINGS, clock)
    worn = signals(OPTIONS.long_window + 40, np.random.default_rng(9))
    fresh = signals(OPTIONS.long_window + 5, np.random.default_rng(10), fails=False)
    last = 0
    for last in range(worn.shape[0]):
        clock.set(hour(last))
        await service.put(readings_at(last, {"deg-1": worn}))
        scores = await service.tick()
    assert scores[0].anomaly_score > SETTINGS.alarm_above, "the worn part shows"
    service.replaced("deg-1", "bearing")
    states = []
    for index in range(fresh.shape[0]):
        clock.set(hour(last + 1 + index))
        await service.put(readings_at(index, {"deg-1": fresh}))
        [score] = await service.tick()
        states.append(score.state)
    history = OPTIONS.long_window
    assert states[: history - 1] == [HealthState.UNKNOWN] * (history - 1), "window refilling"
    assert states[-1] is HealthState.NORMAL, "scored on the new part's samples alone"
