"""Scheduled scoring: per-machine windows of recent readings → anomaly + RUL → health scores."""

# The composition root feeds readings to ``ScoringService.put`` (a ReadingSink) and schedules
# ``await service.tick(now)`` every ``maintenance.scoring_interval_s``. Machines with the same tag
# names form a group that shares one window buffer and one pair of models, so a tick computes
# the features of a whole group in one numpy pass (no pandas on this path). Each model's pipeline
# prepares (condition-normalises) only the sample a tick closes and keeps the prepared samples in
# a ring (``SampleRing``): a tick never prepares or copies the whole window again. Preparing is
# per sample, so the features are those of ``pipeline.transform`` on the raw window.
#
# Sampling: the models were trained on rows ``sample_interval_s`` apart (recorded in the model
# metrics). Readings are averaged per machine and tag; once a sample interval has passed, a tick
# closes the average as one sample (NaN for a tag that sent nothing Good), pushes it and scores.
# Ticks in between score nothing, and so do the first ticks until the models' longest window is
# full (the anomaly baseline only saw full windows).
#
# Models: each group is scored by its stored models (``maintenance.scoring_groups``). A group with
# no anomaly model collects ``baseline_samples`` samples, fits a baseline anomaly model on them,
# stores it and logs so; without a RUL model the scores carry no RUL, so alerts come from the
# anomaly score alone and no print order is raised.
#
# Components: the RUL model predicts the machine's next failure, whichever part causes it. Each
# machine-level score is paired with one component: the one with the least expected life left
# (its ``mean_life_h`` minus operating hours since it was fitted, counted from the service's
# start or the last ``replaced`` call). So one alert and one spare-part order per machine, for
# the part most likely to be the cause.
#
# Cost of a tick (1000 machines × 20 tags: features from the time-major ring, one matrix product
# for the anomaly scores, the RUL trees, then the records): everything per machine is computed for
# the whole group in numpy, so the only Python loop builds the HealthScore records. numpy's BLAS
# runs on one thread during a tick: its products are small, and on a two-core box a second BLAS
# thread spins against the event loop and the other work (2 threads: ~4× the CPU of one under
# load, and a tick several times slower).

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

import numpy as np
import numpy.typing as npt
from threadpoolctl import ThreadpoolController

from config import MaintenanceSettings
from maintenance.alert_policy import Observation
from maintenance.errors import MaintenanceError
from maintenance.features import FloatArray, IntArray, time_major_features
from maintenance.model_store import ModelStore, dataset_digest
from maintenance.pipeline import FeaturePipeline
from maintenance.sample_ring import SampleRing
from maintenance.score_history import ScoreHistory
from maintenance.scoring_groups import (
    SAMPLE_INTERVAL_METRIC,
    GroupModels,
    MachineGroup,
    ScoredMachine,
    anomaly_model_name,
    fit_baseline_scorer,
    load_group_models,
    machine_groups,
)
from models import Clock, Component, HealthScore, HealthState, Quality, Reading

log = logging.getLogger(__name__)

TOP_SIGNALS = 3
_NO_RUL: tuple[None, None, None] = (None, None, None)
_STATE_OF_LEVEL = (HealthState.UNKNOWN, HealthState.ALARM, HealthState.WARNING, HealthState.NORMAL)


@cache
def _native_threads() -> ThreadpoolController:
    """The thread pools of the native libraries loaded (numpy's BLAS); found once, by a scan."""
    return ThreadpoolController()


class ScoringError(MaintenanceError):
    """Scoring cannot start or go on (no machine to score, a model that cannot be used)."""

    advice = "check the site's machines and the models under <data_dir>/models"


class AlertObserver(Protocol):
    """Where paired scores go (``maintenance.alerts.AlertService``)."""

    async def observe(self, observations: Iterable[Observation]) -> Sequence[object]: ...


HealthPublisher = Callable[[HealthScore], Awaitable[None]]
"""Shows one score (the OPC UA server's ``address_space.apply_health``)."""


@dataclass
class _Accumulator:
    """Sums and counts of Good readings per machine and tag since the last sample."""

    sums: FloatArray
    counts: FloatArray

    @classmethod
    def empty(cls, machines: int, tags: int) -> _Accumulator:
        return cls(np.zeros((machines, tags)), np.zeros((machines, tags)))

    def add(self, rows: list[int], columns: list[int], values: list[float]) -> None:
        np.add.at(self.sums, (rows, columns), values)
        np.add.at(self.counts, (rows, columns), 1.0)

    def take(self) -> FloatArray:
        """The mean per machine and tag (NaN where nothing came), and start afresh."""
        mean: FloatArray = np.divide(
            self.sums, self.counts, out=np.full(self.sums.shape, np.nan), where=self.counts > 0
        )
        self.sums[:] = 0.0
        self.counts[:] = 0.0
        return mean


@dataclass
class _GroupState:
    """One group's models, window of samples, pending readings and machine ages."""

    group: MachineGroup
    models: GroupModels | None
    sample_interval_s: float
    pending: _Accumulator
    buffer: list[FloatArray] = field(default_factory=list)
    """Newest samples, each ``(machines, tags)``; at most the models' history long."""
    ages: FloatArray = field(default_factory=lambda: np.zeros(0))
    refilling: FloatArray = field(default_factory=lambda: np.zeros(0))
    """Per machine: samples still to come before its window holds only samples since a repair."""
    next_sample: datetime | None = None
    prepared: dict[int, tuple[FeaturePipeline, SampleRing]] = field(default_factory=dict)
    """Per pipeline of the current models (by id): its prepared samples, newest last."""

    @property
    def size(self) -> int:
        return len(self.group.machines)

    def window(self) -> FloatArray:
        """``(machines, time, tags)`` of the buffered samples, oldest first."""
        return np.asarray(np.stack(self.buffer, axis=1), dtype=np.float64)

    def use(self, models: GroupModels) -> None:
        """Score with ``models`` from now on (their pipelines prepare the buffer afresh)."""
        self.models = models
        self.prepared.clear()

    def push(self, sample: FloatArray) -> None:
        """Buffer a closed sample, raw and as every pipeline in use prepares it."""
        self.buffer.append(sample)
        for pipeline, ring in self.prepared.values():
            ring.push(pipeline.prepare(sample))

    def features(self, pipeline: FeaturePipeline) -> FloatArray:
        """``pipeline``'s features of every machine's window: its ``transform`` of the raw
        window, from the prepared samples (the ring is filled from the buffer on first use)."""
        kept = self.prepared.get(id(pipeline))
        if kept is None:
            ring = SampleRing(self.size, pipeline.history, len(pipeline.spec.tags))
            recent = pipeline.prepare(np.stack(self.buffer[-pipeline.history :], axis=1))
            for step in range(recent.shape[1]):
                ring.push(recent[:, step, :])
            self.prepared[id(pipeline)] = kept = (pipeline, ring)
        ring = kept[1]
        history = pipeline.history
        window = ring.time_window(history)
        return time_major_features(window, pipeline.spec, complete=ring.complete(history))


class ScoringService:
    """Scores every machine on each tick and hands the scores to the publisher, history, alerts."""

    def __init__(
        self,
        machines: Sequence[ScoredMachine],
        store: ModelStore,
        settings: MaintenanceSettings,
        clock: Clock,
        *,
        publish: HealthPublisher | None = None,
        history: ScoreHistory | None = None,
        alerts: AlertObserver | None = None,
        time_scale: float = 1.0,
    ) -> None:
        """``time_scale``: operating hours per clock hour (a simulated site's time compression)."""
        if not machines:
            raise ScoringError("no machine to score")
        self.settings = settings
        self._store = store
        self._clock = clock
        self._publish = publish
        self._history = history
        self._alerts = alerts
        self._time_scale = time_scale
        self._shared_columns: dict[str, IntArray | None] = {}
        self.latest: dict[str, HealthScore] = {}
        """Each machine's newest score."""
        self._groups = [self._state_of(group) for group in machine_groups(machines)]
        self._index = {
            (machine.id, tag): (g, row, column)
            for g, state in enumerate(self._groups)
            for row, machine in enumerate(state.group.machines)
            for column, tag in enumerate(state.group.tags)
        }
        start = clock.now()
        self._fitted_at = {
            (m.id, c.name): start
            for s in self._groups
            for m in s.group.machines
            for c in m.components
        }

    def _state_of(self, group: MachineGroup) -> _GroupState:
        models = load_group_models(self._store, group)
        if models is None:
            log.warning(
                "no trained model for %s (%s): a baseline anomaly model will be learnt from "
                "their first %d samples, one every %.0f s; train one with `trustfloor train`",
                group.name,
                ", ".join(m.id for m in group.machines),
                self.settings.baseline_samples,
                self.settings.scoring_interval_s,
            )
            interval = self.settings.scoring_interval_s
        else:
            log.info("scoring %s with %s", group.name, models.version)
            interval = models.sample_interval_s
        machines, tags = len(group.machines), len(group.tags)
        return _GroupState(
            group,
            models,
            interval,
            _Accumulator.empty(machines, tags),
            ages=np.zeros(machines),
            refilling=np.zeros(machines),
        )

    @property
    def groups(self) -> list[MachineGroup]:
        return [state.group for state in self._groups]

    def reload_models(self) -> list[str]:
        """Score with the store's latest models from the next sample on; the groups that changed.

        Samples already buffered are kept, so newly trained models score as soon as their
        window is full. A group whose new models sample at another interval keeps its models.
        """
        changed = []
        for state in self._groups:
            models = load_group_models(self._store, state.group)
            current = state.models.version if state.models is not None else None
            if models is None or models.version == current:
                continue
            if not math.isclose(models.sample_interval_s, state.sample_interval_s):
                log.error(
                    "%s: not switching to %s: it samples every %.0f s, this site every %.0f s",
                    state.group.name,
                    models.version,
                    models.sample_interval_s,
                    state.sample_interval_s,
                )
                continue
            state.use(models)
            changed.append(state.group.name)
            log.info("scoring %s with %s from now on", state.group.name, models.version)
        return changed

    def models_of(self, group: str) -> GroupModels | None:
        """The models scoring ``group`` (None while its baseline is being collected)."""
        return next((s.models for s in self._groups if s.group.name == group), None)

    async def put(self, readings: Sequence[Reading]) -> None:
        """Take a batch of readings (ReadingSink); only Good numeric values count."""
        batches: dict[int, tuple[list[int], list[int], list[float]]] = {}
        for reading in readings:
            where = self._index.get((reading.machine, reading.tag))
            value = reading.value
            if where is None or reading.quality is not Quality.GOOD:
                continue
            if not isinstance(value, int | float) or not math.isfinite(value):
                continue
            group, row, column = where
            rows, columns, values = batches.setdefault(group, ([], [], []))
            rows.append(row)
            columns.append(column)
            values.append(float(value))
        for group, (rows, columns, values) in batches.items():
            self._groups[group].pending.add(rows, columns, values)

    def replaced(self, machine: str, component: str, ts: datetime | None = None) -> None:
        """A part was fitted new: its expected life and the machine's age start again, and it is
        scored again (until then HealthState.UNKNOWN) once its window holds only new samples."""
        when = ts or self._clock.now()
        if (machine, component) in self._fitted_at:
            self._fitted_at[(machine, component)] = when
        for state in self._groups:
            for row, scored in enumerate(state.group.machines):
                if scored.id == machine:
                    state.ages[row] = 0.0
                    state.refilling[row] = state.models.history if state.models else 0

    async def tick(self, now: datetime | None = None) -> list[HealthScore]:
        """Close due samples, score their groups and hand the scores on; the scores made."""
        at = now or self._clock.now()
        made: list[tuple[HealthScore, str]] = []
        with _native_threads().limit(limits=1, user_api="blas"):
            for state in self._groups:
                if self._sample_due(state, at):
                    made.extend(self._score(state, at))
        if made:
            await self._hand_on(made)
        return [score for score, _ in made]

    def _sample_due(self, state: _GroupState, at: datetime) -> bool:
        """Whether a sample interval has passed; the first tick only starts the clock.

        A tick scheduled every interval may run a hair early: half an interval of slack keeps it
        from skipping every other sample.
        """
        step = timedelta(seconds=state.sample_interval_s)
        if state.next_sample is None:
            state.next_sample = at + step
            return False
        if at < state.next_sample - step / 2:
            return False
        while state.next_sample <= at + step / 2:
            state.next_sample += step
        return True

    def _score(self, state: _GroupState, at: datetime) -> list[tuple[HealthScore, str]]:
        state.push(state.pending.take())
        state.ages += 1.0
        state.refilling = np.maximum(state.refilling - 1.0, 0.0)
        if state.models is None:
            self._bootstrap_if_ready(state)
            return []
        history = state.models.history
        if len(state.buffer) < history:
            return []  # warming up: the anomaly baseline only ever saw full windows
        del state.buffer[: len(state.buffer) - history]
        return self._scores_of(state, state.models, at)

    def _bootstrap_if_ready(self, state: _GroupState) -> None:
        needed = self.settings.baseline_samples
        if len(state.buffer) < needed:
            return
        samples = state.window()
        scorer = fit_baseline_scorer(samples, state.group.tags)
        name = anomaly_model_name(state.group.name)
        metadata = self._store.save(
            name,
            scorer,
            training_data_sha256=dataset_digest(samples.reshape(-1, samples.shape[2])),
            metrics={SAMPLE_INTERVAL_METRIC: state.sample_interval_s, "baseline_samples": needed},
            now=self._clock.now(),
        )
        version = f"{name} v{metadata.version} (baseline)"
        state.use(GroupModels(scorer, None, state.sample_interval_s, version))
        log.warning(
            "learnt baseline anomaly model %s from %d samples of %s; no RUL until a model is "
            "trained with `trustfloor train`",
            version,
            needed,
            ", ".join(m.id for m in state.group.machines),
        )

    def _shared(self, models: GroupModels, state: _GroupState) -> IntArray | None:
        """The anomaly features' columns among the RUL features, once checked on the group's
        window to give the same scores as the anomaly model's own extraction (None: extract
        twice)."""
        if models.version not in self._shared_columns:
            columns = models.shared_columns()
            if columns is not None and models.rul is not None:
                window = state.window()
                shared = models.rul.pipeline.transform(window)[:, columns]
                own = models.anomaly.pipeline.transform(window)
                if not np.allclose(shared, own, equal_nan=True):
                    columns = None
            self._shared_columns[models.version] = columns
        return self._shared_columns[models.version]

    def _scores_of(
        self, state: _GroupState, models: GroupModels, at: datetime
    ) -> list[tuple[HealthScore, str]]:
        """Every machine's score and component; the per-machine values are computed for the
        whole group at once, so the loop only builds the records."""
        shared = self._shared(models, state)
        features = state.features(models.rul.pipeline) if models.rul is not None else None
        if shared is not None and features is not None:
            anomaly = models.anomaly.score_features(features[:, shared])  # one extraction
        else:
            anomaly = models.anomaly.score_features(state.features(models.anomaly.pipeline))
        refilling = state.refilling > 0  # UNKNOWN until the window holds only new samples
        scores = np.where(refilling, np.nan, anomaly.score)
        ruls = self._rul_hours(state, models, features, refilling)
        version = models.version
        return [
            (
                HealthScore(
                    machine=machine.id,
                    ts=at,
                    anomaly_score=score,
                    rul=rul[0],
                    rul_low=rul[1],
                    rul_high=rul[2],
                    state=health,
                    top_contributors=contributors,
                    model_version=version,
                ),
                self._part(machine, at),
            )
            for machine, score, health, contributors, rul in zip(
                state.group.machines,
                scores.tolist(),
                self._states(scores),
                anomaly.top_contributors(TOP_SIGNALS),
                ruls,
                strict=True,
            )
        ]

    def _rul_hours(
        self,
        state: _GroupState,
        models: GroupModels,
        features: FloatArray | None,
        refilling: npt.NDArray[np.bool_],
    ) -> list[tuple[float | None, float | None, float | None]]:
        """Per machine: RUL, low and high in operating hours (all None without a RUL model, and
        while the machine's window refills)."""
        if models.rul is None or features is None:
            return [_NO_RUL] * state.size
        age = state.ages if models.rul.settings.use_age else None
        prediction = models.rul.predict_features(features, age)
        hours = models.sample_interval_s / 3600.0 * self._time_scale
        band = np.stack([prediction.rul, prediction.lower, prediction.upper], axis=1) * hours
        ruls: list[tuple[float | None, float | None, float | None]] = list(
            map(tuple, band.tolist())
        )
        for row in np.flatnonzero(refilling).tolist():
            ruls[row] = _NO_RUL
        return ruls

    def _states(self, scores: FloatArray) -> list[HealthState]:
        """Each score's state: UNKNOWN when not finite, else by the alarm and warning levels."""
        level = np.select(
            [~np.isfinite(scores), scores >= self.settings.alarm_above],
            [0, 1],
            np.where(scores >= self.settings.warning_above, 2, 3),
        )
        return [_STATE_OF_LEVEL[i] for i in level.tolist()]

    def _part(self, machine: ScoredMachine, at: datetime) -> str:
        """The machine's component with the least expected life left ("" when it has none)."""
        if not machine.components:
            return ""

        def life_left_h(component: Component) -> float:
            fitted = self._fitted_at[(machine.id, component.name)]
            used_h = (at - fitted).total_seconds() / 3600.0 * self._time_scale
            return component.mean_life_h - used_h

        return min(machine.components, key=life_left_h).name

    async def _hand_on(self, made: list[tuple[HealthScore, str]]) -> None:
        """Publish, record, then feed the alert policy; a failing publisher is only logged."""
        self.latest.update((score.machine, score) for score, _ in made)
        if self._publish is not None:
            for score, _ in made:
                try:
                    await self._publish(score)
                except Exception:
                    log.exception("health of %s could not be published", score.machine)
        if self._history is not None:
            await asyncio.to_thread(self._history.append, made)
        if self._alerts is not None:
            await self._alerts.observe(
                [Observation(score, component) for score, component in made if component]
            )
