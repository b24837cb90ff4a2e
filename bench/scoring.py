"""Scoring tick cost: 1000 machines × 20 tags, window features + anomaly score + RUL with band."""

# The fleet replays C-MAPSS FD002 engines (3 operating settings + the 17 informative sensors =
# 20 tags per machine). Models are the product's (maintenance.training) trained on part of
# train_FD002 and stored the way `trustfloor train` stores them. Two ways to compute one tick, in
# the same run:
#
# - service: the product's ``ScoringService.tick`` (one sample of readings per machine put
#   beforehand, outside the timing): close the sample, anomaly score and RUL with band from each
#   machine's raw window; its two model calls are also timed on their own on the same windows;
# - baseline: pandas groupby-rolling for the same window statistics, then the same models.
#
# The service runs as ``serve`` runs it: numpy's BLAS keeps its default threads (the service
# limits them to one during a tick), and what set-up built is frozen for the garbage collector
# (``serve`` freezes its start-up heap). Training and the baseline run on one thread.
#
#     .venv/bin/python -m bench.scoring --data ../shared/data [--ticks 50] [--json]

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from pandas.api.typing import DataFrameGroupBy
from threadpoolctl import ThreadpoolController

from config import MaintenanceSettings
from maintenance import (
    HistoryColumns,
    ModelStore,
    RulSettings,
    ScoredMachine,
    ScoringService,
    machine_groups,
)
from maintenance.anomaly import AnomalyResult, AnomalyScorer
from maintenance.datasets import (
    CMAPSS_CYCLE,
    CMAPSS_SENSORS,
    CMAPSS_SETTINGS,
    CMAPSS_UNIT,
    read_cmapss,
    remaining_life,
)
from maintenance.features import FloatArray, IntArray, Stat
from maintenance.model_store import dataset_digest
from maintenance.pipeline import FeaturePipeline
from maintenance.rul import RulModel
from maintenance.scoring_groups import SAMPLE_INTERVAL_METRIC, anomaly_model_name, rul_model_name
from maintenance.training import fit_pipeline, train_anomaly_scorer, train_rul_model
from models import ManualClock, Reading, good

T = TypeVar("T")
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
MACHINES = 1000
SWEEP_MACHINES = (100, 1000, 5000)
"""Fleet sizes of ``--sweep``."""
TRAINING_UNITS = 80
HEALTHY_RUL = 125
SAMPLE_INTERVAL = timedelta(minutes=1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def native_threads() -> ThreadpoolController:
    """numpy's BLAS and scikit-learn's OpenMP thread pools (scikit-learn is loaded first: a
    controller only sees the libraries loaded when it is made)."""
    importlib.import_module("sklearn.ensemble")
    return ThreadpoolController()


NATIVE_THREADS = native_threads()
"""Training and the baseline run with ``NATIVE_THREADS.limit(limits=1)``: OpenMP threads made
training several times slower on two busy cores."""


@dataclass(frozen=True)
class Fleet:
    """Raw samples of every machine over the warm-up history and the measured ticks."""

    samples: FloatArray
    """``(machines, history + ticks, tags)``."""
    start_age: FloatArray
    """Age (cycle) of each machine at its first sample."""


def informative_columns(frame: pd.DataFrame) -> HistoryColumns:
    """The settings and the sensors that vary within an operating condition (20 tags)."""
    everything = HistoryColumns(CMAPSS_UNIT, CMAPSS_CYCLE, CMAPSS_SETTINGS, CMAPSS_SENSORS)
    probe = fit_pipeline(frame, everything, n_conditions=6)
    return HistoryColumns(CMAPSS_UNIT, CMAPSS_CYCLE, CMAPSS_SETTINGS, probe.spec.tags)


def train_models(frame: pd.DataFrame, columns: HistoryColumns) -> tuple[RulModel, AnomalyScorer]:
    subset = frame[frame[CMAPSS_UNIT] <= TRAINING_UNITS]
    rul_model = train_rul_model(subset, columns, n_conditions=6, settings=RulSettings(folds=2))
    healthy = remaining_life(subset, unit_column=CMAPSS_UNIT, time_column=CMAPSS_CYCLE)
    scorer = train_anomaly_scorer(subset[healthy > HEALTHY_RUL], columns, rul_model.pipeline)
    return rul_model, scorer


def build_fleet(
    frame: pd.DataFrame, columns: HistoryColumns, length: int, seed: int, machines: int = MACHINES
) -> Fleet:
    """Each of ``machines`` replays ``length`` consecutive cycles of a random engine."""
    rng = np.random.default_rng(seed)
    engines = [group for _, group in frame.groupby(CMAPSS_UNIT) if len(group) >= length]
    samples = np.empty((machines, length, len(columns.inputs)))
    start_age = np.empty(machines)
    for machine in range(machines):
        engine = engines[rng.integers(len(engines))]
        start = int(rng.integers(0, len(engine) - length + 1))
        rows = engine.iloc[start : start + length]
        samples[machine] = rows[list(columns.inputs)].to_numpy(dtype=np.float64)
        start_age[machine] = float(rows[CMAPSS_CYCLE].iloc[0])
    return Fleet(samples, start_age)


def pandas_features(prepared: FloatArray, pipeline: FeaturePipeline) -> FloatArray:
    """The pipeline's window statistics with pandas groupby-rolling (the baseline)."""
    machines, history, tags = prepared.shape
    names = list(pipeline.spec.tags)
    frame = pd.DataFrame(prepared.reshape(-1, tags), columns=names)
    frame["machine"] = np.repeat(np.arange(machines), history)
    step = np.tile(np.arange(history, dtype=np.float64), machines)
    columns: list[FloatArray] = []
    for window in pipeline.spec.windows:
        per_stat = [
            _pandas_stat(frame, names, step, window.length, stat, window.ewm_alpha)
            for stat in window.stats
        ]
        columns.append(np.stack(per_stat, axis=2))
    stacked = np.concatenate(columns, axis=2)
    return np.ascontiguousarray(stacked.reshape(machines, -1))


def _pandas_stat(
    frame: pd.DataFrame, names: list[str], step: FloatArray, length: int, stat: Stat, alpha: float
) -> FloatArray:
    grouped = frame.groupby("machine")
    if stat is Stat.LAST:
        return as_floats(grouped[names].last())
    if stat is Stat.EWM:
        smoothed = grouped[names].ewm(alpha=alpha).mean()
        return as_floats(smoothed.groupby(level=0).last())
    if stat is Stat.RMS:
        squares = frame[names].pow(2).assign(machine=frame["machine"])
        rolled = squares.groupby("machine")[names].rolling(length, min_periods=1).mean()
        return np.sqrt(as_floats(rolled.groupby(level=0).last()))
    if stat in (Stat.SLOPE, Stat.RESIDUAL_STD):
        slope, residual_std = _pandas_line(frame, names, step, length)
        return slope if stat is Stat.SLOPE else residual_std
    if stat is Stat.DELTA:
        return _pandas_delta(grouped, names, length)
    rolling = grouped[names].rolling(length, min_periods=1)
    method: Callable[[], pd.DataFrame] = {
        Stat.MEAN: rolling.mean,
        Stat.STD: lambda: rolling.std(ddof=0),
        Stat.MIN: rolling.min,
        Stat.MAX: rolling.max,
        Stat.COUNT: rolling.count,
    }[stat]
    return as_floats(method().groupby(level=0).last())


def as_floats(frame: pd.DataFrame) -> FloatArray:
    return np.asarray(frame.to_numpy(dtype=np.float64), dtype=np.float64)


def _pandas_line(
    frame: pd.DataFrame, names: list[str], step: FloatArray, length: int
) -> tuple[FloatArray, FloatArray]:
    """Least-squares slope (E[tx] − E[t]E[x]) / (E[t²] − E[t]²) from rolling means, and the
    standard deviation about the line √(Var x − slope·Cov(t, x))."""
    products = frame[names].mul(step, axis=0).add_suffix("_t")
    squares = frame[names].pow(2).add_suffix("_sq")
    extended = pd.concat([frame, products, squares], axis=1).assign(t=step, t2=step**2)
    product_names, square_names = list(products.columns), list(squares.columns)
    rolled = (
        extended.groupby("machine")[[*names, *product_names, *square_names, "t", "t2"]]
        .rolling(length, min_periods=1)
        .mean()
    )
    last = rolled.groupby(level=0).last()
    mean_x = as_floats(last[names])
    mean_t = as_floats(last[["t"]])
    covariance = as_floats(last[product_names]) - mean_t * mean_x
    slope = covariance / (as_floats(last[["t2"]]) - mean_t**2)
    variance = as_floats(last[square_names]) - mean_x**2
    residual_std = np.sqrt(np.maximum(variance - slope * covariance, 0.0))
    return np.asarray(slope, dtype=np.float64), np.asarray(residual_std, dtype=np.float64)


def _pandas_delta(grouped: DataFrameGroupBy, names: list[str], length: int) -> FloatArray:
    """Rolling mean of the newest quarter minus the same mean ``length − quarter`` rows back."""
    quarter = max(length // 4, 1)
    means = grouped[names].rolling(quarter, min_periods=1).mean()
    oldest = means.groupby(level=0).shift(length - quarter)
    return as_floats(means.groupby(level=0).last()) - as_floats(oldest.groupby(level=0).last())


class Stopwatch:
    """Wall-clock and process CPU milliseconds of named stages, over repeated ticks."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def run(self, stage: str, function: Callable[..., T], *arguments: object) -> T:
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*arguments)
        self.wall.setdefault(stage, []).append((time.perf_counter() - wall) * 1000.0)
        self.cpu.setdefault(stage, []).append((time.process_time() - cpu) * 1000.0)
        return result

    def tick_totals(self, stages: tuple[str, ...]) -> tuple[float, float]:
        """Median over ticks of the summed wall and CPU time of ``stages``."""
        wall = [sum(values) for values in zip(*(self.wall[s] for s in stages), strict=True)]
        cpu = [sum(values) for values in zip(*(self.cpu[s] for s in stages), strict=True)]
        return statistics.median(wall), statistics.median(cpu)

    def p95(self, stage: str) -> float:
        """95th percentile of one stage's wall milliseconds."""
        return float(np.percentile(self.wall[stage], 95))

    def median(self, stage: str) -> tuple[float, float]:
        """Median wall and CPU milliseconds of one stage."""
        return statistics.median(self.wall[stage]), statistics.median(self.cpu[stage])


def shared_columns(scorer: AnomalyScorer, rul_model: RulModel) -> IntArray:
    """Where the anomaly scorer's features sit among the RUL pipeline's (one extraction)."""
    names = rul_model.pipeline.feature_names
    return np.array([names.index(name) for name in scorer.feature_names], dtype=np.intp)


def score_shared(scorer: AnomalyScorer, features: FloatArray, columns: IntArray) -> AnomalyResult:
    """The anomaly score from the RUL pipeline's features (the scorer's columns of them)."""
    return scorer.score_features(features[:, columns])


def pandas_tick_features(pipeline: FeaturePipeline, raw: FloatArray) -> FloatArray:
    return pandas_features(pipeline.prepare(raw), pipeline)


SERVICE = ("tick",)
BASELINE = ("pandas features", "anomaly (baseline)", "rul (baseline)")


def fleet_machines(columns: HistoryColumns, machines: int = MACHINES) -> list[ScoredMachine]:
    """The fleet as the scoring service sees it: one group of machines with the same tags."""
    return [ScoredMachine(f"m{index:04d}", columns.inputs) for index in range(machines)]


def store_models(
    store: ModelStore, group: str, models: tuple[RulModel, AnomalyScorer], fleet: Fleet
) -> None:
    """Save both models as ``trustfloor train`` does, sampled every ``SAMPLE_INTERVAL``."""
    rul_model, scorer = models
    digest = dataset_digest(fleet.samples.reshape(-1, fleet.samples.shape[2]))
    metrics = {SAMPLE_INTERVAL_METRIC: SAMPLE_INTERVAL.total_seconds()}
    store.save(rul_model_name(group), rul_model, training_data_sha256=digest, metrics=metrics)
    store.save(anomaly_model_name(group), scorer, training_data_sha256=digest, metrics=metrics)


def sample_readings(
    fleet: Fleet, machines: list[ScoredMachine], step: int, at: datetime
) -> list[Reading]:
    """One Good reading per machine and tag: the fleet's ``step``-th sample."""
    values = fleet.samples[:, step, :].tolist()
    return [
        good(machine.id, tag, at, value)
        for machine, row in zip(machines, values, strict=True)
        for tag, value in zip(machine.tags, row, strict=True)
    ]


def sample_time(step: int) -> datetime:
    return T0 + step * SAMPLE_INTERVAL


class ServiceRun:
    """A ``ScoringService`` over the fleet, fed one sample per tick on its own event loop."""

    def __init__(self, fleet: Fleet, columns: HistoryColumns, store: ModelStore) -> None:
        self.fleet = fleet
        self.machines = fleet_machines(columns, fleet.samples.shape[0])
        self.service = ScoringService(
            self.machines, store, MaintenanceSettings(), ManualClock(T0 - SAMPLE_INTERVAL)
        )
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.service.tick(T0 - SAMPLE_INTERVAL))  # starts sampling
        gc.collect()
        gc.freeze()  # as serve freezes what its start-up built

    def put(self, step: int) -> None:
        readings = sample_readings(self.fleet, self.machines, step, sample_time(step))
        self.loop.run_until_complete(self.service.put(readings))

    def tick(self, step: int) -> int:
        """Run the tick closing sample ``step``; the number of scores it made."""
        return len(self.loop.run_until_complete(self.service.tick(sample_time(step))))

    def close(self) -> None:
        self.loop.close()
        gc.unfreeze()


def measure_service_ticks(
    watch: Stopwatch,
    run: ServiceRun,
    models: tuple[RulModel, AnomalyScorer],
    ticks: int,
    *,
    models_alone: bool = True,
) -> None:
    """Fill the service's windows, then time ``ticks`` ticks (and, with ``models_alone``, each
    model call on its own)."""
    rul_model, scorer = models
    history = rul_model.pipeline.history
    for step in range(history - 1):
        run.put(step)
        run.tick(step)
    for tick in range(ticks):
        now = history - 1 + tick
        run.put(now)
        scored = watch.run("tick", run.tick, now)
        machines = len(run.machines)
        if scored != machines:
            raise RuntimeError(f"tick {tick} scored {scored} machines, not {machines}")
        if not models_alone:
            continue
        raw = run.fleet.samples[:, now + 1 - history : now + 1, :]
        age = np.full(machines, float(now + 1))
        with NATIVE_THREADS.limit(limits=1, user_api="blas"):
            watch.run("anomaly", scorer.score, raw)
            watch.run("rul", rul_model.predict, raw, age)


def measure_baseline(
    watch: Stopwatch, fleet: Fleet, models: tuple[RulModel, AnomalyScorer], ticks: int
) -> float:
    """Run the pandas tick; return the largest difference from the numpy features.

    EWM features are left out of the comparison: pandas' ewm weighs the whole history, ours
    only the window (they differ by (1 − α)^30 ≈ 0.1 %).
    """
    rul_model, scorer = models
    pipeline = rul_model.pipeline
    shared = shared_columns(scorer, rul_model)
    raw = fleet.samples[:, -pipeline.history :, :]
    age = fleet.start_age + fleet.samples.shape[1] - 1
    reference = pipeline.transform(raw)
    compared = np.array(["__ewm" not in name for name in pipeline.feature_names])
    difference = 0.0
    for _ in range(ticks):
        computed = watch.run("pandas features", pandas_tick_features, pipeline, raw)
        watch.run("anomaly (baseline)", score_shared, scorer, computed, shared)
        watch.run("rul (baseline)", rul_model.predict_features, computed, age)
        gap = np.abs(computed - reference)[:, compared]
        difference = max(difference, float(np.nanmax(gap)))
    return difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data directory")
    parser.add_argument(
        "--ticks", type=int, default=50, help="measured ticks (median and p95 reported)"
    )
    parser.add_argument("--baseline-ticks", type=int, default=3, help="ticks of the baseline")
    parser.add_argument("--json", action="store_true", help="print figures as JSON")
    parser.add_argument(
        "--sweep", action="store_true", help=f"also tick fleets of {SWEEP_MACHINES} machines"
    )
    arguments = parser.parse_args(argv)
    nested = arguments.data / "cmapss"
    train = read_cmapss(nested if nested.is_dir() else arguments.data, "FD002").train
    load = os.getloadavg()[0]
    with NATIVE_THREADS.limit(limits=1):
        columns = informative_columns(train)
        models = train_models(train, columns)
    pipeline = models[0].pipeline
    fleet = build_fleet(train, columns, pipeline.history + arguments.ticks, seed=0)
    watch = Stopwatch()
    service_ticks(watch, fleet, columns, models, arguments.ticks)
    sizes = {MACHINES: watch}
    for machines in SWEEP_MACHINES if arguments.sweep else ():
        if machines not in sizes:
            sized = build_fleet(train, columns, fleet.samples.shape[1], seed=0, machines=machines)
            sizes[machines] = Stopwatch()
            service_ticks(sizes[machines], sized, columns, models, arguments.ticks, alone=False)
    with NATIVE_THREADS.limit(limits=1):
        difference = measure_baseline(watch, fleet, models, arguments.baseline_ticks)
    sweep = size_figures(sizes) if arguments.sweep else None
    shape = (len(columns.inputs), len(pipeline.feature_names))
    report(watch, arguments, shape, difference, sweep, load)
    return 0


def service_ticks(
    watch: Stopwatch,
    fleet: Fleet,
    columns: HistoryColumns,
    models: tuple[RulModel, AnomalyScorer],
    ticks: int,
    *,
    alone: bool = True,
) -> None:
    """Time ``ticks`` ticks of a ScoringService over ``fleet`` with the models stored."""
    with tempfile.TemporaryDirectory() as folder:
        store = ModelStore(Path(folder))
        (group,) = machine_groups(fleet_machines(columns, fleet.samples.shape[0]))
        store_models(store, group.name, models, fleet)
        run = ServiceRun(fleet, columns, store)
        try:
            measure_service_ticks(watch, run, models, ticks, models_alone=alone)
        finally:
            run.close()


def size_figures(sizes: dict[int, Stopwatch]) -> dict[str, dict[str, float]]:
    """Median and p95 tick per fleet size, and the median per machine."""
    figures = {}
    for machines, watch in sorted(sizes.items()):
        median = statistics.median(watch.wall["tick"])
        figures[str(machines)] = {
            "tick_ms": round(median, 2),
            "tick_p95_ms": round(watch.p95("tick"), 2),
            "tick_us_per_machine": round(1000.0 * median / machines, 1),
        }
    return figures


def print_sizes(figures: dict[str, dict[str, float]]) -> None:
    print("  ScoringService.tick by fleet size (wall ms: median, p95; µs per machine):")
    for machines, f in figures.items():
        print(
            f"    {int(machines):>5} machines  {f['tick_ms']:8.1f}  {f['tick_p95_ms']:8.1f}"
            f"  {f['tick_us_per_machine']:6.1f}"
        )


def report(
    watch: Stopwatch,
    arguments: argparse.Namespace,
    shape: tuple[int, int],
    difference: float,
    sizes: dict[str, dict[str, float]] | None,
    load: float,
) -> None:
    """Print the figures; ``shape``: tags and features per machine; ``load``: the 1-minute load
    average when the run started."""
    tags, features = shape
    tick_wall, tick_cpu = watch.tick_totals(SERVICE)
    baseline_wall, baseline_cpu = watch.tick_totals(BASELINE)
    if arguments.json:
        figures = {
            "tick_ms": round(tick_wall, 2),
            "tick_p95_ms": round(watch.p95("tick"), 2),
            "tick_cpu_ms": round(tick_cpu, 2),
            "baseline_tick_ms": round(baseline_wall, 1),
            "speedup": round(baseline_wall / tick_wall, 1),
            "machines": MACHINES,
            "tags": tags,
            "measured": (
                f"ScoringService.tick (close a sample, features, anomaly + RUL with band) of "
                f"{MACHINES} machines x {tags} tags over {arguments.ticks} ticks, wall ms; "
                "baseline: pandas groupby-rolling features and the same models; BLAS threads "
                "as serve has them, set-up heap frozen as serve freezes it"
            ),
            "cores": os.cpu_count(),
            "load_average": round(load, 2),
        }
        if sizes is not None:
            figures["sizes"] = sizes
        print(json.dumps(figures))
        return
    print(
        f"{MACHINES} machines × {tags} tags, {features} features; medians over "
        f"{arguments.ticks} ticks (baseline {arguments.baseline_ticks}); wall / CPU ms; "
        f"{os.cpu_count()} cores, load average {load:.1f}"
    )
    print(
        f"  ScoringService.tick                       {tick_wall:8.1f} / {tick_cpu:8.1f}"
        f"  (p95 wall {watch.p95('tick'):.1f})"
    )
    stages = ", ".join(
        f"{stage} {wall:.1f} / {cpu:.1f}"
        for stage, (wall, cpu) in ((stage, watch.median(stage)) for stage in ("anomaly", "rul"))
    )
    print(f"    its model calls on their own: {stages}")
    print(f"  baseline tick (pandas groupby-rolling)    {baseline_wall:8.1f} / {baseline_cpu:8.1f}")
    print(f"  baseline / service tick: {baseline_wall / tick_wall:.0f}× (wall)")
    print(
        f"  largest |pandas − numpy| feature difference {difference:.1e} "
        "(EWM left out: pandas' ewm spans the whole history, ours the window)"
    )
    if sizes is not None:
        print_sizes(sizes)


if __name__ == "__main__":
    raise SystemExit(main())
