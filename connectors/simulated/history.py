"""Run-to-failure histories of a simulated machine, sampled as a live site would score them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from connectors.simulated.machine import SimulatedMachine
from connectors.simulated.wear import MachineWear, TimeBase
from models import Machine, ManualClock

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MAX_SAMPLES = 200_000
"""A run stops here even if no component failed (a very long-lived machine)."""


@dataclass(frozen=True, slots=True)
class Sampling:
    """How a live site turns readings into model samples, on the same compressed time base."""

    interval_s: float
    """Clock seconds between samples (the scoring interval)."""
    time_compression: float
    """Simulated seconds per clock second."""
    polls: int = 2
    """Readings averaged into one sample (the connectors poll several times per interval)."""


def fresh(machine: Machine) -> Machine:
    """The machine with new parts fitted: histories start at the beginning of every life."""
    components = tuple(c.model_copy(update={"initial_wear": 0.0}) for c in machine.components)
    return machine.model_copy(update={"components": components})


def run_to_failure(machine: Machine, seed: int, sampling: Sampling) -> npt.NDArray[np.float64]:
    """One life of ``machine`` with new parts: a row per sample, a column per tag, until failure.

    Each row averages ``sampling.polls`` values spread over its interval, as the scoring service
    averages the readings it receives; the last row is the last sample before the machine stops.
    """
    clock = ManualClock(EPOCH)
    new = fresh(machine)
    wear = MachineWear(
        new.id, new.components, TimeBase(EPOCH, sampling.time_compression), seed=seed
    )
    simulator = SimulatedMachine(new, clock, seed=seed, wear=wear)
    step = sampling.interval_s / sampling.polls
    rows: list[list[float]] = []
    while len(rows) < MAX_SAMPLES:
        polls = []
        for _ in range(sampling.polls):
            clock.advance(step)
            polls.append([simulator.value_of(tag, clock.now()) for tag in new.tags])
        if wear.failed_component(clock.now()) is not None:
            break
        rows.append(np.mean(polls, axis=0).tolist())
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(new.tags))
