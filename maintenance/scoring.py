"""Scheduled scoring: per-machine windows of recent readings → anomaly + RUL → health scores."""

# The composition root feeds readings to ``ScoringService.put`` (a ReadingSink) and schedules
# ``await service.tick(now)`` every ``maintenance.scoring_interval_s``. Machines with the same tag
# names form a group that shares one window buffer and one pair of models, so a tick computes
# the features of a whole group in one numpy pass (no pandas on this path).
#
# Sampling: the models were trained on rows ``sample_interval_s`` apart (recorded in the model
# metrics). Readings are averaged per machine and tag; once a sample interval has passed, a tick
# closes the average as one sample (NaN for a tag that sent nothing Good), pushes it and scores.
# Ticks in between score nothing, and so do the first ticks until the models' longest window is
# full (the anomaly baseline only saw full windows).
#
# Models: ``anomaly-<group>`` and ``rul-<group>`` in the model store, where ``<group>`` is the
# alphabetically first machine id of the group (``machine_groups``; training names them the same
# way). A stored model trained on other tags, another kind or another scikit-learn is refused with
# ``ModelMismatchError``. A group with no anomaly model collects ``baseline_samples`` samples,
# fits a baseline anomaly model on them, stores it and logs so; without a RUL model the scores
# carry no RUL, so alerts come from the anomaly score alone and no print order is raised.
#
# Components: the RUL model predicts the machine's next failure, whichever part causes it. Each
# machine-level score is paired with one component: the one with the least expected life left
# (its ``mean_life_h`` minus operating hours since it was fitted, counted from the service's
# start or the last ``replaced`` call). So one alert and one spare-part order per machine, for
# the part most likely to be the cause.

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from config.settings import MaintenanceSettings, SiteSettings
from maintenance.alert_policy import Observation
from maintenance.anomaly import AnomalyResult, AnomalyScorer, fit_anomaly_scorer
from maintenance.durable import DurableFile, to_micros
from maintenance.errors import MaintenanceError, ModelMismatchError, TrainingDataError
from maintenance.features import FloatArray, iter_history_features, level_windows
from maintenance.model_store import METADATA_FILE, ModelMetadata, ModelStore, dataset_digest
from maintenance.pipeline import FeaturePipeline
from maintenance.rul import RulModel
from models import Clock, HealthScore, HealthState, Reading
from models.machines import Component
from models.readings import Quality

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_METRIC = "sample_interval_s"
"""Model metric: seconds between the rows the model was trained on."""
BOOTSTRAP_WINDOWS = level_windows(window=10, long_window=30)
"""Windows of a bootstrap baseline model: short enough to learn from ``baseline_samples``."""
TOP_SIGNALS = 3


class ScoringError(MaintenanceError):
    """Scoring cannot start or go on (no machine to score, a model that cannot be used)."""

    advice = "check the site's machines and the models under <data_dir>/models"


@dataclass(frozen=True, slots=True)
class ScoredMachine:
    """What scoring needs of a machine: its id, tag names in order, and its wearing parts."""

    id: str
    tags: tuple[str, ...]
    components: tuple[Component, ...] = ()


@dataclass(frozen=True, slots=True)
class MachineGroup:
    """Machines with the same tags: one buffer and one pair of models, named after ``name``."""

    name: str
    tags: tuple[str, ...]
    machines: tuple[ScoredMachine, ...]


def scored_machines(site: SiteSettings) -> list[ScoredMachine]:
    """Every Modbus and OPC UA machine of the site (printers are not scored)."""
    modbus = [
        ScoredMachine(m.id, tuple(t.name for t in m.tags), m.components) for m in site.machines
    ]
    opcua = [
        ScoredMachine(m.id, tuple(t.name for t in m.tags), m.components)
        for m in site.opcua_machines
    ]
    return modbus + opcua


def machine_groups(machines: Iterable[ScoredMachine]) -> list[MachineGroup]:
    """Machines grouped by their tag names; a group is named after its first machine id."""
    by_tags: dict[tuple[str, ...], list[ScoredMachine]] = {}
    for machine in machines:
        by_tags.setdefault(machine.tags, []).append(machine)
    groups = [
        MachineGroup(min(m.id for m in members), tags, tuple(members))
        for tags, members in by_tags.items()
    ]
    return sorted(groups, key=lambda group: group.name)


def anomaly_model_name(group: str) -> str:
    return f"anomaly-{group}"


def rul_model_name(group: str) -> str:
    return f"rul-{group}"


class AlertObserver(Protocol):
    """Where paired scores go (``maintenance.alerts.AlertService``)."""

    async def observe(self, observations: Iterable[Observation]) -> Sequence[object]: ...


HealthPublisher = Callable[[HealthScore], Awaitable[None]]
"""Shows one score (the OPC UA server's ``address_space.apply_health``)."""


_HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS health_scores (
    machine TEXT NOT NULL,
    component TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (machine, ts_us)
) WITHOUT ROWID;
"""


class ScoreHistoryError(MaintenanceError):
    """The health score history cannot be opened or written."""

    advice = "check that the data directory is writable and health.sqlite is not corrupt"


class ScoreHistory:
    """Every health score in SQLite (``<data_dir>/health.sqlite``), queried per machine."""

    def __init__(self, path: Path) -> None:
        self._file = DurableFile(path, _HISTORY_SCHEMA, ScoreHistoryError)

    def append(self, scores: Sequence[tuple[HealthScore, str]]) -> None:
        """Store a tick's ``(score, component)`` pairs; a repeated (machine, ts) is kept once."""
        rows = [(s.machine, c, to_micros(s.ts), s.model_dump_json()) for s, c in scores]
        with self._file.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO health_scores VALUES (?, ?, ?, ?)", rows)

    def query(
        self,
        machine: str,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> list[tuple[HealthScore, str]]:
        """Scores of ``machine`` in ``[since, until]``, oldest first, with their component."""
        low = to_micros(since) if since is not None else -(2**62)
        high = to_micros(until) if until is not None else 2**62
        rows = self._file.rows(
            "SELECT component, body FROM health_scores WHERE machine = ? AND ts_us BETWEEN ? AND ?"
            " ORDER BY ts_us LIMIT ?",
            (machine, low, high, limit),
        )
        return [(HealthScore.model_validate_json(r["body"]), r["component"]) for r in rows]

    def close(self) -> None:
        self._file.close()


@dataclass(frozen=True, eq=False)
class GroupModels:
    """The models scoring one group, and the sampling they were trained with."""

    anomaly: AnomalyScorer
    rul: RulModel | None
    sample_interval_s: float
    version: str
    """Shown with every score, e.g. ``anomaly-mill-1 v2 + rul-mill-1 v1``."""

    @property
    def history(self) -> int:
        """Samples per machine the models need."""
        rul_history = self.rul.pipeline.history if self.rul is not None else 0
        return max(self.anomaly.pipeline.history, rul_history)


def stored_metadata(store: ModelStore, name: str) -> ModelMetadata | None:
    """Metadata of the latest version of ``name``, or None when the store has none."""
    versions = store.versions(name)
    if not versions:
        return None
    path = store.root / name / f"v{versions[-1]:04d}" / METADATA_FILE
    try:
        return ModelMetadata.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ModelMismatchError(f"{path} is missing or corrupt: {error}") from error


def load_checked(
    store: ModelStore, name: str, kind: str, tags: Sequence[str], version: int
) -> Any | None:
    """The latest ``name`` if it is a ``kind`` model of ``version`` over ``tags``; or None."""
    metadata = stored_metadata(store, name)
    if metadata is None:
        return None
    if metadata.kind == kind and metadata.model_version != version:
        raise ModelMismatchError(
            f"model {name!r} v{metadata.version} is a {kind} model of format "
            f"{metadata.model_version}; this trustfloor reads format {version} (other features)",
            advice="train the models again with `trustfloor train`",
        )
    model = store.load(name, expected_features=metadata.features, expected_kind=kind).model
    trained_on = tuple(model.pipeline.input_tags)
    if trained_on != tuple(tags):
        raise ModelMismatchError(
            f"model {name!r} v{metadata.version} was trained on tags {list(trained_on)}, "
            f"the machines it would score have {list(tags)}"
        )
    return model


def sample_interval_of(store: ModelStore, name: str) -> float | None:
    metadata = stored_metadata(store, name)
    return None if metadata is None else metadata.metrics.get(SAMPLE_INTERVAL_METRIC)


def load_group_models(store: ModelStore, group: MachineGroup) -> GroupModels | None:
    """The stored models of ``group``; None when it has no anomaly model yet."""
    anomaly_name, rul_name = anomaly_model_name(group.name), rul_model_name(group.name)
    anomaly = load_checked(
        store, anomaly_name, AnomalyScorer.kind, group.tags, AnomalyScorer.model_version
    )
    if anomaly is None:
        return None
    rul = load_checked(store, rul_name, RulModel.kind, group.tags, RulModel.model_version)
    interval = sample_interval_of(store, anomaly_name)
    if interval is None:
        raise ModelMismatchError(f"model {anomaly_name!r} does not record {SAMPLE_INTERVAL_METRIC}")
    version = f"{anomaly_name} v{store.versions(anomaly_name)[-1]}"
    if rul is not None:
        rul_interval = sample_interval_of(store, rul_name)
        if rul_interval != interval:
            raise ModelMismatchError(
                f"{anomaly_name!r} samples every {interval} s, {rul_name!r} every {rul_interval} s"
                ": train them together"
            )
        version += f" + {rul_name} v{store.versions(rul_name)[-1]}"
    return GroupModels(anomaly, rul, float(interval), version)


def fit_baseline_scorer(samples: FloatArray, tags: Sequence[str]) -> AnomalyScorer:
    """A baseline anomaly model from ``(machines, time, tags)`` samples of a fresh start."""
    rows = samples.reshape(-1, samples.shape[2])
    pipeline = FeaturePipeline.fit(
        rows, condition_tags=(), sensor_tags=tuple(tags), windows=BOOTSTRAP_WINDOWS
    )
    if pipeline.spec.tags != tuple(tags):
        constant = sorted(set(tags) - set(pipeline.spec.tags))
        raise TrainingDataError(f"tags {constant} did not change during the baseline period")
    series = [pipeline.prepare(machine) for machine in samples]
    features = np.concatenate(list(iter_history_features(series, pipeline.spec)), axis=0)
    position = np.tile(np.arange(samples.shape[1]) + 1, samples.shape[0])
    return fit_anomaly_scorer(pipeline, features[position >= pipeline.history])


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

    @property
    def size(self) -> int:
        return len(self.group.machines)

    def window(self) -> FloatArray:
        """``(machines, time, tags)`` of the buffered samples, oldest first."""
        return np.asarray(np.stack(self.buffer, axis=1), dtype=np.float64)


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
            state.models = models
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
        state.buffer.append(state.pending.take())
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
        state.models = GroupModels(scorer, None, state.sample_interval_s, version)
        log.warning(
            "learnt baseline anomaly model %s from %d samples of %s; no RUL until a model is "
            "trained with `trustfloor train`",
            version,
            needed,
            ", ".join(m.id for m in state.group.machines),
        )

    def _scores_of(
        self, state: _GroupState, models: GroupModels, at: datetime
    ) -> list[tuple[HealthScore, str]]:
        window = state.window()
        anomaly = models.anomaly.score(window)
        rul_h: tuple[FloatArray, FloatArray, FloatArray] | None = None
        if models.rul is not None:
            age = state.ages if models.rul.settings.use_age else None
            prediction = models.rul.predict(window, age)
            hours = models.sample_interval_s / 3600.0 * self._time_scale
            rul_h = (prediction.rul * hours, prediction.lower * hours, prediction.upper * hours)
        return [
            (
                self._health(
                    machine.id, row, anomaly, rul_h, models.version, at, state.refilling[row] > 0
                ),
                self._part(machine, at),
            )
            for row, machine in enumerate(state.group.machines)
        ]

    def _health(
        self,
        machine: str,
        row: int,
        anomaly: AnomalyResult,
        rul_h: tuple[FloatArray, FloatArray, FloatArray] | None,
        version: str,
        at: datetime,
        refilling: bool,
    ) -> HealthScore:
        """The score of one machine (UNKNOWN while its window refills after a repair)."""
        score = math.nan if refilling else float(anomaly.score[row])
        contributors = tuple(n for n, share in anomaly.top_signals(row, TOP_SIGNALS) if share > 0)
        rul = [float(p[row]) for p in rul_h] if rul_h and not refilling else [None, None, None]
        return HealthScore(
            machine=machine,
            ts=at,
            anomaly_score=score,
            rul=rul[0],
            rul_low=rul[1],
            rul_high=rul[2],
            state=self._state(score),
            top_contributors=contributors,
            model_version=version,
        )

    def _state(self, anomaly: float) -> HealthState:
        if not math.isfinite(anomaly):
            return HealthState.UNKNOWN
        if anomaly >= self.settings.alarm_above:
            return HealthState.ALARM
        if anomaly >= self.settings.warning_above:
            return HealthState.WARNING
        return HealthState.NORMAL

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
