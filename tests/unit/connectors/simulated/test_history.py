"""Run-to-failure histories: new parts, one row per scoring sample, ending at the failure."""

from __future__ import annotations

import numpy as np
import pytest

from connectors.simulated.history import EPOCH, Sampling, fresh, run_to_failure
from connectors.simulated.wear import MachineWear, TimeBase
from tests.unit.connectors.simulated.test_wear import BEARING, mill

SAMPLING = Sampling(interval_s=2.0, time_compression=3600.0)


def test_a_history_runs_a_new_part_from_install_to_its_failure() -> None:
    worn = mill((BEARING.model_copy(update={"initial_wear": 0.9}),))
    rows = run_to_failure(worn, 3, SAMPLING)
    new = fresh(worn)
    assert new.components[0].initial_wear == 0.0
    wear = MachineWear(new.id, new.components, TimeBase(EPOCH, 3600.0), seed=3)
    failure = wear.failure_time("spindle_bearing", EPOCH)
    assert failure is not None
    life_s = (failure - EPOCH).total_seconds()
    assert rows.shape == (int(life_s // SAMPLING.interval_s), len(worn.tags))
    vibration = [t.name for t in worn.tags].index("vibration_rms")
    early, late = rows[:50, vibration].mean(), rows[-10:, vibration].mean()
    assert late > early + 0.2 * 25.0 * 0.45, "the bearing's wear shows in the vibration"


def test_histories_of_other_seeds_are_other_lives() -> None:
    lives = {len(run_to_failure(mill((BEARING,)), seed, SAMPLING)) for seed in range(4)}
    assert len(lives) == 4


def test_each_row_averages_the_polls_of_its_interval() -> None:
    one = run_to_failure(mill((BEARING,)), 5, Sampling(2.0, 3600.0, polls=1))
    many = run_to_failure(mill((BEARING,)), 5, Sampling(2.0, 3600.0, polls=8))
    assert one.shape == many.shape
    current = [t.name for t in mill().tags].index("motor_current")
    assert np.std(np.diff(many[:200, current])) < np.std(np.diff(one[:200, current]))
    assert many[:200, current].mean() == pytest.approx(one[:200, current].mean(), rel=0.05)
