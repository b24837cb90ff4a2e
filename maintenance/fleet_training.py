"""Training for `trustfloor train`: from a run-to-failure file or the historian, into the store."""

# Run-to-failure table format (CSV with a header, Parquet, or the C-MAPSS space-separated layout):
#
#     unit,time,<setting columns...>,<signal columns...>
#
# one row per unit and sample, samples ``sample_interval_s`` apart; each unit runs until it
# fails at its last row, so a row's remaining life is the unit's last time minus the row's time
# (in samples). Settings columns (operating conditions, optional) are named with ``--settings``;
# every other numeric column is a signal. C-MAPSS files (``train_FD00X.txt[.gz]``, 26 columns,
# no header) are read as unit, cycle, setting_1..3, sensor_1..21.
#
# From the historian: a failures table (CSV: ``machine,component,failed_at[,replaced_at]``, ISO
# 8601 times with a zone) splits each machine's readings into runs that end in a failure; runs
# are resampled to ``sample_interval_s`` means per tag and become units of the same table, with
# the site's tag names as signal columns. Readings after a machine's last failure are left out
# (their remaining life is unknown), and so is the downtime between failed_at and replaced_at.
#
# Each trained group stores ``rul-<name>`` and ``anomaly-<name>`` (the anomaly baseline is every
# training row more than the RUL cap away from failure) and reports RMSE, the PHM08 score and the
# band's coverage on held-out units, each cut at random points like the C-MAPSS test sets.

from __future__ import annotations

import asyncio
import csv
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from config import Settings
from maintenance.conditions import count_operating_conditions
from maintenance.datasets import (
    CMAPSS_CYCLE,
    CMAPSS_SENSORS,
    CMAPSS_SETTINGS,
    CMAPSS_UNIT,
    read_cmapss_table,
    remaining_life,
)
from maintenance.errors import MaintenanceError, TrainingDataError
from maintenance.evaluation import band_coverage, mean_band_width, phm08_score, rmse
from maintenance.model_store import ModelStore, dataset_digest
from maintenance.rul import RulModel
from maintenance.scoring_groups import (
    SAMPLE_INTERVAL_METRIC,
    ScoredMachine,
    anomaly_model_name,
    machine_groups,
    rul_model_name,
    scored_machines,
)
from maintenance.training import HistoryColumns, history_features, train_anomaly_scorer
from maintenance.training import train_rul_model as fit_rul_on_table
from maintenance.training_options import TIME as TIME
from maintenance.training_options import UNIT as UNIT
from maintenance.training_options import (
    Evaluation,
    Failure,
    Progress,
    RetrainOutcome,
    TrainingReport,
)
from maintenance.training_options import TrainingOptions as TrainingOptions
from maintenance.training_options import closure_labels as closure_labels
from maintenance.training_options import site_training_options as site_training_options
from maintenance.training_stop import StopSignal, TrainingStoppedError, check_stop
from models import Historian, Quality

CUTS_PER_UNIT = 5
"""Evaluation points per held-out unit."""


@dataclass(frozen=True, slots=True)
class RunTable:
    """A run-to-failure table and which of its columns are what."""

    frame: pd.DataFrame
    columns: HistoryColumns


def read_run_to_failure(
    path: Path, *, unit: str = UNIT, time: str = TIME, settings: Sequence[str] = ()
) -> RunTable:
    """A run-to-failure file: C-MAPSS layout (.txt/.txt.gz), CSV (.csv/.csv.gz) or Parquet."""
    if not path.is_file():
        raise TrainingDataError(f"{path} does not exist")
    name = path.name.lower()
    if name.endswith((".txt", ".txt.gz")):
        frame = read_cmapss_table(path)
        return RunTable(
            frame, HistoryColumns(CMAPSS_UNIT, CMAPSS_CYCLE, CMAPSS_SETTINGS, CMAPSS_SENSORS)
        )
    frame = _read_table(path)
    missing = [c for c in (unit, time, *settings) if c not in frame.columns]
    if missing:
        raise TrainingDataError(f"{path} lacks columns {missing}")
    numeric = frame.select_dtypes(include="number").columns
    signals = tuple(c for c in numeric if c not in {unit, time, *settings})
    if not signals:
        raise TrainingDataError(f"{path} has no numeric signal column")
    return RunTable(frame, HistoryColumns(unit, time, tuple(settings), signals))


def _read_table(path: Path) -> pd.DataFrame:
    if path.name.lower().endswith(".parquet"):
        try:
            return pd.read_parquet(path)
        except ImportError as error:
            raise TrainingDataError(
                f"reading {path} needs a Parquet engine: {error}",
                advice="install pyarrow, or convert the file to CSV",
            ) from error
    return pd.read_csv(path)


def train_table(
    table: RunTable,
    name: str,
    store: ModelStore,
    options: TrainingOptions,
    progress: Progress,
    stop: StopSignal | None = None,
) -> TrainingReport:
    """Train, evaluate on held-out units, then retrain on every unit and store both models.

    ``stop`` is checked between the stages (each model, each cross-validation fold, the anomaly
    scorer, the storing): once it is set the training raises :class:`TrainingStoppedError` at
    the next check, having stored nothing.
    """
    frame, columns = table.frame, table.columns
    units = np.sort(frame[columns.unit].unique())
    held_out = _held_out_units(units, options)
    progress(f"{name}: {len(units)} units, {len(frame)} rows; {len(held_out)} units held out")
    conditions = _conditions(frame, columns)
    kept = frame[~frame[columns.unit].isin(held_out)]
    fit = partial(
        fit_rul_on_table,
        columns=columns,
        windows=options.windows,
        n_conditions=conditions,
        settings=options.rul,
        stop=stop,
    )
    trial = fit(kept)
    check_stop(stop, "the held-out evaluation")
    evaluation = evaluate(trial, frame[frame[columns.unit].isin(held_out)], columns, options)
    progress(f"{name}: held-out RMSE {evaluation.rmse:.2f}, PHM08 {evaluation.phm08:.1f}")
    progress(f"{name}: training on all {len(units)} units")
    model = fit(frame)
    check_stop(stop, "the anomaly scorer")
    scorer = train_anomaly_scorer(healthy_rows(frame, columns, options), columns, model.pipeline)
    check_stop(stop, "storing the models")
    digest = _digest(frame, columns)
    metrics = {
        SAMPLE_INTERVAL_METRIC: options.sample_interval_s,
        "heldout_rmse": evaluation.rmse,
        "heldout_phm08": evaluation.phm08,
        "heldout_band_coverage": evaluation.coverage,
        **model.metrics,
    }
    rul_saved = store.save(
        rul_model_name(name), model, training_data_sha256=digest, metrics=metrics
    )
    anomaly_saved = store.save(
        anomaly_model_name(name), scorer, training_data_sha256=digest, metrics=metrics
    )
    report = TrainingReport(
        name=name,
        rul_model=f"{rul_saved.name} v{rul_saved.version}",
        anomaly_model=f"{anomaly_saved.name} v{anomaly_saved.version}",
        rows=len(frame),
        units=len(units),
        signals=columns.sensors,
        sample_interval_s=options.sample_interval_s,
        evaluation=evaluation,
    )
    for line in report.lines():
        progress(line)
    return report


def healthy_rows(
    frame: pd.DataFrame, columns: HistoryColumns, options: TrainingOptions
) -> pd.DataFrame:
    """The anomaly baseline: every row more than the RUL cap before its unit's failure."""
    life = remaining_life(frame, unit_column=columns.unit, time_column=columns.time)
    healthy = frame[life > options.rul.cap]
    if healthy.empty:
        hours = options.rul.cap * options.sample_interval_s / 3600.0
        raise TrainingDataError(
            f"no run is longer than the RUL cap ({options.rul.cap:g} samples, {hours:g} h): "
            "there is no healthy running to learn the anomaly baseline from",
            advice="train on longer runs to failure, or with a shorter RUL cap",
        )
    return healthy


def _digest(frame: pd.DataFrame, columns: HistoryColumns) -> str:
    """SHA-256 of the training rows, with unit names replaced by their order of appearance."""
    numeric = frame[[columns.time, *columns.inputs]].copy()
    numeric.insert(0, columns.unit, pd.factorize(frame[columns.unit])[0])
    return dataset_digest(numeric)


def _held_out_units(units: np.ndarray, options: TrainingOptions) -> np.ndarray:
    count = max(1, round(len(units) * options.held_out_fraction))
    if len(units) - count < options.rul.folds:
        raise TrainingDataError(
            f"{len(units)} run-to-failure units are too few: need at least "
            f"{options.rul.folds + 1} (one held out)",
            advice="record more failures, or train from a run-to-failure data set",
        )
    return np.random.default_rng(options.seed).choice(units, size=count, replace=False)


def _conditions(frame: pd.DataFrame, columns: HistoryColumns) -> int:
    if not columns.conditions:
        return 1
    return count_operating_conditions(frame[list(columns.conditions)].to_numpy(dtype=np.float64))


def evaluate(
    model: RulModel, frame: pd.DataFrame, columns: HistoryColumns, options: TrainingOptions
) -> Evaluation:
    """RUL figures of ``model`` at random cut points of each held-out unit (capped truth)."""
    features = history_features(frame, columns, model.pipeline)
    index = features.index.to_frame(index=False)
    truth = remaining_life(index, unit_column=columns.unit, time_column=columns.time)
    rng = np.random.default_rng(options.seed + 1)
    positions = _scored_rows(index.groupby(columns.unit).indices, model)
    chosen = np.concatenate(
        [
            rng.choice(rows, size=min(CUTS_PER_UNIT, len(rows)), replace=False)
            for rows in positions.values()
        ]
    )
    age = index[columns.time].to_numpy(dtype=np.float64)[chosen]
    prediction = model.predict_features(features.to_numpy()[chosen], age)
    capped = np.minimum(truth[chosen], options.rul.cap)
    return Evaluation(
        units=len(positions),
        points=len(chosen),
        rmse=rmse(prediction.rul, capped),
        phm08=phm08_score(prediction.rul, capped),
        coverage=band_coverage(prediction.lower, prediction.upper, capped),
        band_width=mean_band_width(prediction.lower, prediction.upper),
    )


def _scored_rows(positions: dict[object, np.ndarray], model: RulModel) -> dict[object, np.ndarray]:
    """Each unit's rows a cut may fall on: with a full window when the model only learnt those."""
    if not model.settings.full_windows_only:
        return positions
    first = model.pipeline.history - 1
    scored = {unit: rows[first:] for unit, rows in positions.items() if len(rows) > first}
    if not scored:
        raise TrainingDataError(
            f"no held-out unit has the {model.pipeline.history} samples a full window needs",
            advice="hold out more units, or train with shorter windows",
        )
    return scored


def read_failures(path: Path) -> list[Failure]:
    """The failures table: CSV with columns machine, component, failed_at[, replaced_at]."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise TrainingDataError(f"cannot read the failures table {path}: {error}") from error
    try:
        return [
            Failure.model_validate({k: v for k, v in row.items() if v not in (None, "")})
            for row in rows
        ]
    except ValueError as error:
        raise TrainingDataError(
            f"{path}: {error}", advice="columns: machine,component,failed_at[,replaced_at]"
        ) from error


async def tag_series(
    historian: Historian, machine: str, tag: str, start: datetime, end: datetime
) -> pd.Series:
    """Good numeric readings of one tag in ``[start, end]``, paged through ``Historian.query``."""
    times: list[datetime] = []
    values: list[float] = []
    cursor, page = start, 10_000
    while cursor <= end:
        batch = await historian.query(machine, tag, cursor, end, page)
        for reading in batch:
            if reading.quality is Quality.GOOD and isinstance(reading.value, int | float):
                times.append(reading.source_ts)
                values.append(float(reading.value))
        if len(batch) < page:
            break
        cursor = batch[-1].source_ts + timedelta(microseconds=1)
    return pd.Series(values, index=pd.DatetimeIndex(times), name=tag, dtype=np.float64)


async def machine_runs(
    historian: Historian,
    machine: ScoredMachine,
    failures: Sequence[Failure],
    start: datetime,
    interval_s: float,
) -> list[pd.DataFrame]:
    """The machine's runs that end in a failure, resampled, with time in samples since the run."""
    own = sorted((f for f in failures if f.machine == machine.id), key=lambda f: f.failed_at)
    if not own:
        return []
    series = [
        await tag_series(historian, machine.id, t, start, own[-1].failed_at) for t in machine.tags
    ]
    samples = pd.concat(series, axis=1).resample(f"{interval_s}s").mean()
    runs, begin = [], start
    for number, failure in enumerate(own):
        rows = samples[(samples.index >= begin) & (samples.index < failure.failed_at)].ffill()
        rows = rows.dropna()
        if len(rows):
            run = rows.reset_index(drop=True)
            run.insert(0, TIME, np.arange(len(run), dtype=np.int64))
            run.insert(0, UNIT, f"{machine.id}#{number + 1}")
            runs.append(run)
        begin = failure.back_at
    return runs


async def history_table(
    historian: Historian,
    machines: Sequence[ScoredMachine],
    failures: Sequence[Failure],
    start: datetime,
    interval_s: float,
) -> RunTable:
    """Runs to failure of ``machines`` (which share their tags) as one table."""
    runs = [
        run
        for machine in machines
        for run in await machine_runs(historian, machine, failures, start, interval_s)
    ]
    if not runs:
        raise TrainingDataError(
            f"no recorded failure of {', '.join(m.id for m in machines)} has readings before it",
            advice="list failures in the failures table (machine,component,failed_at)",
        )
    tags = machines[0].tags
    return RunTable(pd.concat(runs, ignore_index=True), HistoryColumns(UNIT, TIME, (), tags))


async def train_from_historian(
    historian: Historian,
    machines: Sequence[ScoredMachine],
    failures: Sequence[Failure],
    store: ModelStore,
    *,
    start: datetime,
    options: TrainingOptions,
    progress: Progress,
    stop: StopSignal | None = None,
) -> list[TrainingReport]:
    """One model pair per group of machines with the same tags, named as scoring looks for it.
    ``stop``: as :func:`train_table` (TrainingStoppedError at the next stage once set)."""
    reports = []
    for group in machine_groups(machines):
        check_stop(stop, f"training {group.name}")
        progress(f"{group.name}: reading the history of {', '.join(m.id for m in group.machines)}")
        table = await history_table(
            historian, group.machines, failures, start, options.sample_interval_s
        )
        progress(f"{group.name}: {table.frame[UNIT].nunique()} runs to failure")
        reports.append(
            await asyncio.to_thread(train_table, table, group.name, store, options, progress, stop)
        )
    return reports


async def train_from_file(
    path: Path,
    name: str,
    store: ModelStore,
    *,
    options: TrainingOptions,
    progress: Progress,
    unit: str = UNIT,
    time: str = TIME,
    settings: Sequence[str] = (),
    stop: StopSignal | None = None,
) -> TrainingReport:
    """Train ``rul-<name>`` and ``anomaly-<name>`` from a run-to-failure file (``stop``: as
    :func:`train_table`)."""
    progress(f"reading {path}")
    table = await asyncio.to_thread(
        read_run_to_failure, path, unit=unit, time=time, settings=settings
    )
    return await asyncio.to_thread(train_table, table, name, store, options, progress, stop)


@dataclass(frozen=True, slots=True)
class FileSource:
    """Train from a run-to-failure file; the models are named ``rul-<name>``/``anomaly-<name>``."""

    path: Path
    name: str
    unit: str = UNIT
    time: str = TIME
    settings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HistorianSource:
    """Train from the historian's readings, labelled by a failures table and closed work
    requests (``closures``: the failures their technicians reported)."""

    historian: Historian
    failures: Path | None
    start: datetime
    closures: tuple[Failure, ...] = ()


async def train_command(
    settings: Settings,
    source: FileSource | HistorianSource,
    out_dir: Path,
    progress: Progress,
    options: TrainingOptions | None = None,
    stop: StopSignal | None = None,
) -> list[TrainingReport]:
    """`trustfloor train`: train from ``source`` into the model store at ``out_dir`` (``stop``:
    as :func:`train_table`)."""
    store = ModelStore(out_dir)
    chosen = options or site_training_options(settings)
    if isinstance(source, FileSource):
        report = await train_from_file(
            source.path,
            source.name,
            store,
            options=chosen,
            progress=progress,
            unit=source.unit,
            time=source.time,
            settings=source.settings,
            stop=stop,
        )
        return [report]
    failures = list(source.closures)
    if source.failures is not None:
        failures += await asyncio.to_thread(read_failures, source.failures)
        progress(f"{len(failures) - len(source.closures)} failure(s) in {source.failures}")
    progress(f"{len(source.closures)} failure(s) from closed work requests")
    machines = scored_machines(settings.site)
    return await train_from_historian(
        source.historian,
        machines,
        failures,
        store,
        start=source.start,
        options=chosen,
        progress=progress,
        stop=stop,
    )


def _current_rmse(
    store: ModelStore, name: str, table: RunTable, options: TrainingOptions
) -> float | None:
    """RMSE of the stored ``rul-<name>`` on the held-out runs a new training would use."""
    model_name = rul_model_name(name)
    if not store.versions(model_name):
        return None
    try:
        metadata = store.metadata(model_name)
        model = store.load(model_name, expected_features=metadata.features).model
    except MaintenanceError:
        return None
    frame, columns = table.frame, table.columns
    held_out = _held_out_units(np.sort(frame[columns.unit].unique()), options)
    if not isinstance(model, RulModel):
        return None
    return evaluate(model, frame[frame[columns.unit].isin(held_out)], columns, options).rmse


def retrain_if_better(
    table: RunTable,
    name: str,
    store: ModelStore,
    options: TrainingOptions,
    progress: Progress,
    stop: StopSignal | None = None,
) -> RetrainOutcome:
    """Train a candidate aside; store it as the next version only if its held-out RMSE beats
    the current model's on the same held-out runs. Older versions stay for rollback. ``stop``:
    as :func:`train_table` (a stopped candidate is dropped, the store is left as it was)."""
    current = _current_rmse(store, name, table, options)
    with tempfile.TemporaryDirectory(prefix="retrain-") as scratch:
        trial = ModelStore(Path(scratch))
        report = train_table(table, name, trial, options, progress, stop)
        candidate = report.evaluation.rmse
        promoted = current is None or candidate < current
        if promoted:
            store.copy_from(trial, rul_model_name(name))
            store.copy_from(trial, anomaly_model_name(name))
    verdict = "promoted" if promoted else "kept the current model"
    was = "none" if current is None else f"{current:.2f}"
    progress(f"{name}: candidate RMSE {candidate:.2f} against current {was}: {verdict}")
    return RetrainOutcome(
        group=name,
        candidate_rmse=candidate,
        current_rmse=current,
        promoted=promoted,
        report=report,
    )


def _retrain_on_threads(
    threads: int | None,
    table: RunTable,
    name: str,
    store: ModelStore,
    options: TrainingOptions,
    progress: Progress,
    stop: StopSignal | None,
) -> RetrainOutcome:
    """``retrain_if_better`` with BLAS and OpenMP on at most ``threads`` threads (None: their
    default); the limit holds in the calling thread only, so a worker thread bounds itself."""
    with threadpool_limits(limits=threads):
        return retrain_if_better(table, name, store, options, progress, stop)


async def retrain_from_historian(
    historian: Historian,
    machines: Sequence[ScoredMachine],
    closures: Sequence[Failure],
    store: ModelStore,
    *,
    failures: Path | None = None,
    start: datetime,
    options: TrainingOptions,
    progress: Progress,
    threads: int | None = None,
    stop: StopSignal | None = None,
) -> list[RetrainOutcome]:
    """Retrain each group from the historian, labelled by closures (and a failures table);
    each candidate replaces its group's model only when better on held-out runs. A group with
    too few labelled runs is passed over with the reason (``progress``); the others go on.
    ``threads`` bounds the numeric libraries' threads while training (None: their default).
    Once ``stop`` is set the retrain ends at its next stage: the group in training keeps its
    current models, and the outcomes of the groups done before are returned."""
    labels = list(closures)
    if failures is not None:
        labels += await asyncio.to_thread(read_failures, failures)
    progress(f"{len(closures)} failure(s) from closed work requests, {len(labels)} in all")
    outcomes = []
    for group in machine_groups(machines):
        try:
            check_stop(stop, f"retraining {group.name}")
            table = await history_table(
                historian, group.machines, labels, start, options.sample_interval_s
            )
            outcome = await asyncio.to_thread(
                _retrain_on_threads, threads, table, group.name, store, options, progress, stop
            )
        except TrainingDataError as error:
            progress(f"{group.name}: not retrained: {error}")
            continue
        except TrainingStoppedError:
            progress(f"training stopped: shutting down; {group.name} keeps its current models")
            break
        outcomes.append(outcome)
    return outcomes
