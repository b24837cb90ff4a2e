"""Lead-time benchmark: were spare parts ordered in time for simulated machines run to failure?"""

# Simulated machines (the site simulator's wear model and telemetry generator, driven directly on
# a ManualClock: no servers, compressed time) produce one reading per tag per hour. Training runs
# (seeds TRAIN_SEED...) become a run-to-failure table for the product's training
# (maintenance.fleet_training.train_table); evaluation runs (other seeds) feed the product's
# ScoringService, whose scores go to a real AlertService on temporary SQLite files.
#
# - in time: a failure whose machine got a print order at o with o + lead time ≤ failure time;
#   ``in_time_fraction`` = in-time failures / failures.
# - false order: an order more than HORIZON_H before its machine's failure (or for a machine that
#   does not fail during the run); ``false_order_rate`` = false orders / orders.
# - ``orders_on_healthy_machines``: orders on machines with no failure within the evaluated span.
# - ``false_alerts_per_machine_month``: alerts of any level raised on a machine with no failure
#   within HORIZON_H after the alert, ÷ (the hours those machines were evaluated with no failure
#   within HORIZON_H ahead / 720).
# - ``median_order_lead_h``: the median of failure time − order time over orders before a failure.
# Each seed trains on its own fleet (TRAIN_SEED + seed) and evaluates its own (EVAL_SEED + seed);
# the top-level figures are the worst seed's (lowest in-time fraction and median lead, highest
# false rates and healthy orders), with ``mean`` and ``seeds`` beside them.
# The evaluation fleet mixes wearing machines (bearing life ~2000 h) with long-lived ones that do
# not fail during the run, so false orders on healthy machines are measured too. Training uses
# the product's defaults for a site (``TrainingOptions.for_site(3600)``: 24/192-sample
# windows, RUL capped at 300 h, 95 % band). Some failures cannot be ordered in time by any model:
# a part whose wear starts less than lead time + min_duration before it fails (the evaluation
# fleet has two, and one more whose wear starts 108 h before), or a machine that fails before
# the first full window (192 h) has been scored.
#
#     .venv/bin/python -m bench.leadtime [--machines 60] [--healthy 20] [--train 160] [--seeds 3]
#                                        [--json]

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import asyncio
import json
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from config import MaintenanceSettings, SparePart
from connectors import SimulatedMachine
from connectors.simulated import MachineWear, TimeBase
from maintenance import (
    TIME,
    UNIT,
    AlertService,
    AlertStore,
    HistoryColumns,
    ModelStore,
    RunTable,
    ScoredMachine,
    ScoringService,
    SqliteOrderBook,
    TrainingOptions,
    machine_groups,
    train_table,
)
from models import Machine, ManualClock, Reading, good

START = datetime(2026, 1, 1, tzinfo=UTC)
STEP_S = 3600.0
"""One reading per tag per simulated hour."""
COMPONENT = "spindle_bearing"
MEAN_LIFE_H = 2000.0
HEALTHY_LIFE_H = 200_000.0
PART = SparePart(
    component=COMPONENT, design_id="bearing-housing", print_hours=48, logistics_hours=24
)
SETTINGS = MaintenanceSettings(
    scoring_interval_s=STEP_S,
    min_duration_s=6 * STEP_S,
    margin_h=24.0,
    spare_parts=(PART,),
)
HORIZON_H = 2 * (PART.lead_time_h + SETTINGS.margin_h)
"""An order earlier than this before the failure counts as false (the part waits on a shelf)."""
MONTH_H = 720.0
TRAIN_SEED = 1000
EVAL_SEED = 5000
TAGS = (
    {"name": "spindle_temp", "unit": "Cel", "address": {"address": 0, "data_type": "float32"},
     "eu_low": 15.0, "eu_high": 120.0},
    {"name": "vibration_rms", "unit": "mm/s", "address": {"address": 2, "data_type": "float32"},
     "eu_low": 0.0, "eu_high": 25.0},
    {"name": "motor_current", "unit": "A", "address": {"address": 4, "data_type": "float32"},
     "eu_low": 0.0, "eu_high": 60.0},
    {"name": "spindle_speed", "unit": "1/min", "address": {"address": 6, "data_type": "float32"},
     "eu_low": 0.0, "eu_high": 24000.0},
)  # fmt: skip


def bench_machine(machine_id: str, mean_life_h: float) -> Machine:
    """A milling machine like the demo's mill-1, with one wearing spindle bearing."""
    return Machine.model_validate(
        {
            "id": machine_id,
            "simulated": True,
            "components": [{"name": COMPONENT, "kind": "bearing", "mean_life_h": mean_life_h}],
            "modbus": {"port": 0},
            "tags": list(TAGS),
        }
    )


@dataclass
class SimulatedFleet:
    """Machines whose telemetry the site simulator generates, sampled on a manual clock."""

    machines: list[Machine]
    simulators: list[SimulatedMachine]
    failure_at: list[datetime]
    clock: ManualClock

    @classmethod
    def build(
        cls, count: int, *, seed: int, mean_life_h: float, prefix: str, clock: ManualClock
    ) -> SimulatedFleet:
        machines = [bench_machine(f"{prefix}-{i:03d}", mean_life_h) for i in range(count)]
        timebase = TimeBase(START)
        simulators, failures = [], []
        for machine in machines:
            wear = MachineWear(machine.id, machine.components, timebase, seed=seed)
            simulators.append(SimulatedMachine(machine, clock, seed=seed, wear=wear))
            failure = wear.failure_time(COMPONENT, START)
            assert failure is not None
            failures.append(failure)
        return cls(machines, simulators, failures, clock)

    def readings(self, at: datetime) -> list[Reading]:
        """One Good reading per tag of every machine still running at ``at``."""
        return [
            good(machine.id, tag.name, at, simulator.value_of(tag, at))
            for machine, simulator, failure in zip(
                self.machines, self.simulators, self.failure_at, strict=True
            )
            if at < failure
            for tag in machine.tags
        ]

    def scored(self) -> list[ScoredMachine]:
        return [
            ScoredMachine(m.id, tuple(t.name for t in m.tags), m.components) for m in self.machines
        ]


def run_to_failure_table(fleet: SimulatedFleet) -> RunTable:
    """Every machine's hourly samples from new until its failure, as a training table.

    Sampled hour by hour, every tag at each hour, as the machines are read live: the wear model
    only moves forward in time, so reading one tag's whole life before the next tag's would
    give every tag but the first the worn machine's values from start to end.
    """
    frames = []
    for machine, simulator, failure in zip(
        fleet.machines, fleet.simulators, fleet.failure_at, strict=True
    ):
        hours = int((failure - START).total_seconds() // STEP_S)
        times = [START + timedelta(seconds=STEP_S * h) for h in range(hours)]
        rows = [[simulator.value_of(tag, at) for tag in machine.tags] for at in times]
        frame = pd.DataFrame(rows, columns=[tag.name for tag in machine.tags])
        frame.insert(0, TIME, np.arange(hours))
        frame.insert(0, UNIT, machine.id)
        frames.append(frame)
    tags = tuple(str(t["name"]) for t in TAGS)
    return RunTable(pd.concat(frames, ignore_index=True), HistoryColumns(UNIT, TIME, (), tags))


@dataclass(frozen=True)
class Outcome:
    failures: int
    in_time: int
    orders: int
    false_orders: int
    early_by_h: list[float]
    """Failure time minus order time of each order before a failure."""
    machines: int
    hours: int
    healthy_orders: int
    """Orders on machines that do not fail within the evaluated span."""
    alerts: int
    false_alerts: int
    """Alerts on machines with no failure within HORIZON_H after the alert."""
    clear_hours: float
    """Machine-hours evaluated with no failure within HORIZON_H ahead."""
    suppressed: int

    @property
    def in_time_fraction(self) -> float:
        return self.in_time / self.failures if self.failures else float("nan")

    @property
    def false_order_rate(self) -> float:
        return self.false_orders / self.orders if self.orders else 0.0

    @property
    def false_alerts_per_machine_month(self) -> float:
        return self.false_alerts / (self.clear_hours / MONTH_H) if self.clear_hours else 0.0

    @property
    def median_order_lead_h(self) -> float:
        return statistics.median(self.early_by_h) if self.early_by_h else float("nan")

    def figures(self) -> dict[str, float]:
        return {
            "in_time_fraction": round(self.in_time_fraction, 3),
            "false_order_rate": round(self.false_order_rate, 3),
            "orders_on_healthy_machines": self.healthy_orders,
            "false_alerts_per_machine_month": round(self.false_alerts_per_machine_month, 4),
            "median_order_lead_h": round(self.median_order_lead_h, 1),
        }


WORST = {
    "in_time_fraction": min,
    "false_order_rate": max,
    "orders_on_healthy_machines": max,
    "false_alerts_per_machine_month": max,
    "median_order_lead_h": min,
}
"""How the worst seed's value of each figure is picked."""


def summary_of(per_seed: dict[int, dict[str, float]]) -> dict[str, object]:
    """The worst seed's figures at the top level, with ``mean`` and ``seeds`` beside them."""
    runs = list(per_seed.values())
    worst: dict[str, object] = {key: pick(run[key] for run in runs) for key, pick in WORST.items()}
    mean = {key: round(statistics.fmean(run[key] for run in runs), 4) for key in WORST}
    return {**worst, "mean": mean, "seeds": {str(seed): run for seed, run in per_seed.items()}}


async def evaluate(fleet: SimulatedFleet, store: ModelStore, folder: Path, hours: int) -> Outcome:
    """Feed the fleet to scoring and alerts hour by hour; judge the orders against the truth."""
    clock = fleet.clock
    alerts = AlertStore(folder / "alerts.sqlite")
    orders = SqliteOrderBook(folder / "orders.sqlite", clock=clock)
    service = await AlertService.start(alerts, orders, SETTINGS, clock=clock)
    scoring = ScoringService(fleet.scored(), store, SETTINGS, clock, alerts=service)
    try:
        for _ in range(hours + 1):
            now = clock.now()
            await scoring.put(fleet.readings(now))
            await scoring.tick(now)
            clock.advance(STEP_S)
        placed = await orders.list_orders()
        raised = alerts.recent(limit=100_000)
        suppressed = len(alerts.suppressed(limit=100_000))
    finally:
        await orders.close()
        alerts.close()
    machine_of = {a.id: a.machine for a in raised}
    ordered = [(machine_of[o.alert_id], o.created_at) for o in placed]
    outcome = judge(fleet, ordered, hours)
    return trusted(outcome, fleet, [(a.machine, a.raised_at) for a in raised], hours, suppressed)


def judge(fleet: SimulatedFleet, placed: list[tuple[str, datetime]], hours: int) -> Outcome:
    end = START + timedelta(seconds=STEP_S * hours)
    failure_of = {m.id: f for m, f in zip(fleet.machines, fleet.failure_at, strict=True)}
    lead = timedelta(hours=PART.lead_time_h)
    first_order: dict[str, datetime] = {}
    for machine, at in sorted(placed, key=lambda item: item[1]):
        first_order.setdefault(machine, at)
    failed = [m for m, f in failure_of.items() if f <= end]
    in_time = sum(1 for m in failed if m in first_order and first_order[m] + lead <= failure_of[m])
    before = [(m, at) for m, at in placed if at < failure_of[m]]
    early = [(failure_of[m] - at).total_seconds() / 3600.0 for m, at in before]
    false_orders = sum(1 for gap in early if gap > HORIZON_H)
    healthy = sum(1 for m, _ in placed if failure_of[m] > end)
    return Outcome(
        len(failed),
        in_time,
        len(before),
        false_orders,
        early,
        len(fleet.machines),
        hours,
        healthy_orders=healthy,
        alerts=0,
        false_alerts=0,
        clear_hours=0.0,
        suppressed=0,
    )


def clear_hours(failure: datetime, end: datetime) -> float:
    """Hours of ``[START, min(end, failure))`` with no failure within HORIZON_H ahead."""
    evaluated_until = min(end, failure)
    clear_until = min(evaluated_until, failure - timedelta(hours=HORIZON_H))
    return max(0.0, (clear_until - START).total_seconds() / 3600.0)


def trusted(
    outcome: Outcome,
    fleet: SimulatedFleet,
    raised: list[tuple[str, datetime]],
    hours: int,
    suppressed: int,
) -> Outcome:
    """``outcome`` with the alert figures: alerts with no failure within HORIZON_H after them."""
    end = START + timedelta(seconds=STEP_S * hours)
    failure_of = {m.id: f for m, f in zip(fleet.machines, fleet.failure_at, strict=True)}
    horizon = timedelta(hours=HORIZON_H)
    false_alerts = sum(1 for m, at in raised if failure_of[m] - at > horizon)
    exposure = sum(clear_hours(failure, end) for failure in fleet.failure_at)
    return replace(
        outcome,
        alerts=len(raised),
        false_alerts=false_alerts,
        clear_hours=exposure,
        suppressed=suppressed,
    )


@dataclass(frozen=True)
class SeedRun:
    """One seed's training and evaluation."""

    seed: int
    outcome: Outcome
    rows: int
    trained_s: float
    evaluated_s: float


def run_seed(seed: int, arguments: argparse.Namespace) -> SeedRun:
    """Train on the seed's run-to-failure fleet, then evaluate the seed's site fleet."""
    started = time.perf_counter()
    clock = ManualClock(START)
    wearing = SimulatedFleet.build(
        arguments.machines, seed=EVAL_SEED + seed, mean_life_h=MEAN_LIFE_H, prefix="m", clock=clock
    )
    healthy = SimulatedFleet.build(
        arguments.healthy,
        seed=EVAL_SEED + seed,
        mean_life_h=HEALTHY_LIFE_H,
        prefix="n",
        clock=clock,
    )
    fleet = SimulatedFleet(
        wearing.machines + healthy.machines,
        wearing.simulators + healthy.simulators,
        wearing.failure_at + healthy.failure_at,
        clock,
    )
    group = machine_groups(fleet.scored())[0].name
    training = SimulatedFleet.build(
        arguments.train,
        seed=TRAIN_SEED + seed,
        mean_life_h=MEAN_LIFE_H,
        prefix="t",
        clock=ManualClock(START),
    )
    hours = int((max(wearing.failure_at) - START).total_seconds() // STEP_S) + 1
    with tempfile.TemporaryDirectory() as folder:
        store = ModelStore(Path(folder) / "models")
        quiet = (lambda line: None) if arguments.json else print
        options = TrainingOptions.for_site(STEP_S)  # the product's site defaults
        report = train_table(run_to_failure_table(training), group, store, options, quiet)
        trained = time.perf_counter()
        outcome = asyncio.run(evaluate(fleet, store, Path(folder), hours))
    finished = time.perf_counter()
    return SeedRun(seed, outcome, report.rows, trained - started, finished - trained)


def print_seed(run: SeedRun, arguments: argparse.Namespace) -> None:
    outcome, figures = run.outcome, run.outcome.figures()
    print(
        f"seed {run.seed}: trained on {arguments.train} machines run to failure ({run.rows} "
        f"hourly rows) in {run.trained_s:.0f} s; evaluated {outcome.machines} machines over "
        f"{outcome.hours} h in {run.evaluated_s:.0f} s"
    )
    print(
        f"  failures {outcome.failures}, ordered in time {outcome.in_time}: "
        f"in_time_fraction {figures['in_time_fraction']}  (goal ≥ 0.95)"
    )
    print(
        f"  orders {outcome.orders}, false {outcome.false_orders}: "
        f"false_order_rate {figures['false_order_rate']}  (goal ≤ 0.05); "
        f"orders_on_healthy_machines {outcome.healthy_orders}  (goal 0)"
    )
    print(
        f"  alerts {outcome.alerts}, with no failure within {HORIZON_H:g} h {outcome.false_alerts} "
        f"over {outcome.clear_hours:.0f} machine-hours: false_alerts_per_machine_month "
        f"{figures['false_alerts_per_machine_month']}  (goal ≤ 0.05); "
        f"held back {outcome.suppressed}"
    )
    if outcome.early_by_h:
        early = outcome.early_by_h
        print(
            f"  orders placed before failure by: median {statistics.median(early):.0f} h, "
            f"min {min(early):.0f} h, max {max(early):.0f} h"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--machines", type=int, default=60, help="wearing machines evaluated")
    parser.add_argument("--healthy", type=int, default=20, help="long-lived machines evaluated")
    parser.add_argument("--train", type=int, default=160, help="machines run to failure to train")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1, each trained anew")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    lead, margin = PART.lead_time_h, SETTINGS.margin_h
    if not arguments.json:
        print(f"lead time {lead:g} h + margin {margin:g} h; false-order horizon {HORIZON_H:g} h")
    per_seed = {}
    for seed in range(arguments.seeds):
        run = run_seed(seed, arguments)
        per_seed[seed] = run.outcome.figures()
        if not arguments.json:
            print_seed(run, arguments)
    summary = summary_of(per_seed)
    if not arguments.json:
        print("worst seed:", ", ".join(f"{key} {summary[key]}" for key in WORST))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
