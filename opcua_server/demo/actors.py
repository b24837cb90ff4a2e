"""The demo's actors around the product: the OEM's designs, a fleet's history, the technician."""

# Part of the composition root (it imports every package): the demo plays the people around a
# trustfloor site so the whole loop runs by itself.
# - the OEM writes each spare part's design dossier and registers it on chain with a licence;
# - the fleet's past: before scoring starts, each machine type's remaining-useful-life model is
#   trained on run-to-failure histories of simulated machines of that type (other seeds than
#   the site's, new parts), sampled as the live site samples them; a real site trains with
#   `trustfloor train` from its historian or a run-to-failure file instead;
# - the maintenance technician fits each certified spare part once it has arrived (print done,
#   then the catalogue's logistics hours), and repairs a machine that failed without a part on
#   order after the part's whole lead time.

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from threadpoolctl import threadpool_limits

from config import Settings, SiteSettings, SparePart
from connectors.simulated import Sampling, SimulatedSite, run_to_failure
from ledger import LedgerService
from maintenance import (
    TIME,
    UNIT,
    AlertService,
    MachineGroup,
    ModelMismatchError,
    ModelStore,
    RulSettings,
    ScoringService,
    StopSignal,
    TrainingOptions,
    TrainingStoppedError,
    check_stop,
    load_group_models,
    machine_groups,
    scored_machines,
)
from models import Clock, Machine, OrderBook, OrderState, ProcessParameter, TrustfloorError
from opcua_server.demo.parties import play_demo_oem

if TYPE_CHECKING:
    from maintenance import RunTable

log = logging.getLogger(__name__)

HISTORY_UNITS = 24
"""Simulated machines run to failure per machine type to train its RUL model."""
HISTORY_SEED = 10_000
"""Seeds of the history machines start here (the site's own seed is small)."""
TRAINING = TrainingOptions(
    window=10, long_window=30, rul=RulSettings(cap=150.0, use_age=False, folds=3, max_iter=80)
)
"""Short windows: the demo's first scores come after 30 samples."""
TRAINED_FOR_FILE = "demo-trained-for.json"


def history_table(
    machine: Machine, units: int, seed: int, sampling: Sampling, stopping: StopSignal
) -> RunTable:
    """``units`` lives of ``machine`` with new parts, as a run-to-failure training table.

    Raises TrainingStoppedError when ``stopping`` is set, between two histories."""
    import pandas as pd  # the training code's libraries load when the demo trains, not before

    from maintenance import HistoryColumns, RunTable

    frames = []
    tags = [tag.name for tag in machine.tags]
    for unit in range(units):
        check_stop(stopping, f"{machine.id}'s history {unit + 1}")
        rows = run_to_failure(machine, seed + unit, sampling)
        frame = pd.DataFrame(rows, columns=tags)
        frame.insert(0, TIME, range(len(frame)))
        frame.insert(0, UNIT, unit)
        frames.append(frame)
    return RunTable(
        pd.concat(frames, ignore_index=True), HistoryColumns(UNIT, TIME, (), tuple(tags))
    )


def _trained_for(store: ModelStore) -> dict[str, object]:
    path = store.root / TRAINED_FOR_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _sampling(settings: Settings, machine: Machine) -> Sampling:
    """The live site's sampling of ``machine``: its polls averaged per scoring interval."""
    interval = settings.maintenance.scoring_interval_s
    polls = max(1, round(interval / machine.modbus.poll_interval_s))
    return Sampling(interval, settings.simulation.time_compression, polls)


def _first_machine(site: SiteSettings, group: MachineGroup) -> Machine:
    return next(m for m in site.machines if m.id == group.name)


def _needs_training(store: ModelStore, group: MachineGroup, sampling: Sampling) -> bool:
    """No usable RUL model, or one trained for another scoring interval or time compression."""
    try:
        models = load_group_models(store, group)
    except ModelMismatchError as mismatch:
        log.info("demo: retraining %s: %s", group.name, mismatch)
        return True
    trained_for = _trained_for(store).get(group.name)
    return models is None or models.rul is None or trained_for != asdict(sampling)


def groups_to_train(
    site: SiteSettings, settings: Settings, store: ModelStore
) -> list[MachineGroup]:
    """The simulated machine types whose models are missing or were trained for other timing."""
    simulated = [m for m in scored_machines(site) if _is_simulated(site, m.id)]
    return [
        group
        for group in machine_groups(simulated)
        if _needs_training(store, group, _sampling(settings, _first_machine(site, group)))
    ]


def train_group(
    group: MachineGroup,
    site: SiteSettings,
    settings: Settings,
    store: ModelStore,
    progress: Callable[[str], None],
    stopping: StopSignal,
) -> None:
    """Train one machine type's models on simulated histories of its first machine.

    Raises TrainingStoppedError when ``stopping`` is set, at the next stage of the training
    (a history, a fold, a model), before anything is stored."""
    from maintenance import train_table

    started = time.perf_counter()
    machine = _first_machine(site, group)
    sampling = _sampling(settings, machine)
    progress(
        f"demo: training the models of {group.name}'s type on {HISTORY_UNITS} simulated "
        "run-to-failure histories"
    )
    # One thread: OpenMP workers spinning against the running site cost far more than they win.
    with threadpool_limits(limits=1):
        table = history_table(machine, HISTORY_UNITS, HISTORY_SEED, sampling, stopping)
        options = TRAINING.model_copy(update={"sample_interval_s": sampling.interval_s})
        train_table(table, group.name, store, options, lambda line: log.info("%s", line), stopping)
    record = _trained_for(store) | {group.name: asdict(sampling)}
    (store.root / TRAINED_FOR_FILE).write_text(json.dumps(record, indent=2), encoding="utf-8")
    progress(f"demo: {group.name}'s models trained in {time.perf_counter() - started:.1f} s")


async def train_demo_models(
    site: SiteSettings,
    settings: Settings,
    store: ModelStore,
    scoring: ScoringService,
    stopping: StopSignal,
) -> None:
    """Each simulated machine type in turn, in a worker thread; its scoring switches to the new
    models at once. Returns at the training's next stage once ``stopping`` is set (the worker
    thread ends there too, so the process exits without waiting for a whole fit)."""

    def progress(line: str) -> None:
        log.info("%s", line)

    for group in groups_to_train(site, settings, store):
        work = asyncio.ensure_future(
            asyncio.to_thread(train_group, group, site, settings, store, progress, stopping)
        )
        try:
            await _thread_end(work, store, group)
        except TrainingStoppedError:
            _log_stopped(store, group)
            return
        except TrustfloorError as error:
            log.error("demo: %s's models not trained: %s", group.name, error.diagnostics())
            continue
        scoring.reload_models()


async def _thread_end(work: asyncio.Future[None], store: ModelStore, group: MachineGroup) -> None:
    """The training thread's result. Cancelled (the site stops, having set ``stopping``), it
    waits for the thread to give up at its next stage before the cancellation goes on, so no
    training goes on after the site said it stopped."""
    try:
        await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        if isinstance(work.exception(), TrainingStoppedError):
            _log_stopped(store, group)
        raise


def _log_stopped(store: ModelStore, group: MachineGroup) -> None:
    log.info("demo: training stopped: shutting down; %s", _what_is_kept(store, group))


def _what_is_kept(store: ModelStore, group: MachineGroup) -> str:
    """What a group whose training stopped scores with: its old models, or none."""
    try:
        old = load_group_models(store, group)
    except ModelMismatchError:
        return f"{group.name} keeps none (its old models do not fit its tags)"
    if old is None:
        return f"{group.name} keeps none (no models yet)"
    return f"{group.name} keeps its old models"


def _is_simulated(site: SiteSettings, machine: str) -> bool:
    return any(m.id == machine and m.simulated for m in site.machines)


DEMO_WINDOW = {
    ProcessParameter.LASER_POWER: (265.0, 295.0, 0.0),
    ProcessParameter.CHAMBER_OXYGEN: (0.0, 1000.0, 2.0),
    ProcessParameter.BUILD_PLATE_TEMPERATURE: (170.0, 190.0, 0.0),
    ProcessParameter.LAYER_TIME: (30.0, 50.0, 0.0),
}
"""Process window of the demo designs around the simulated printer's nominal values: each
parameter's (min, max, tolerance_s), in the unit the printer reports it."""

DEMO_LICENCE_QUOTA = 100
DEMO_LAYERS = 200
"""Layers each demo design's recipe plans (8 mm at 40 µm)."""


def write_demo_design(folder: Path, design_id: str, revision: str, name: str) -> None:
    """A design folder: a small STL model, a recipe and the manifest with the process window."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.stl").write_text(
        f"solid {design_id}\n facet normal 0 0 1\n  outer loop\n   vertex 0 0 0\n"
        "   vertex 40 0 0\n   vertex 0 40 0\n  endloop\n endfacet\nendsolid\n",
        encoding="ascii",
    )
    recipe = {
        "material": "316L",
        "layers": DEMO_LAYERS,
        "layer_um": 40,
        "hatch_mm": 0.11,
        "scan_speed_mm_s": 900,
    }
    (folder / "recipe.json").write_text(json.dumps(recipe, indent=2) + "\n", encoding="utf-8")
    window = "".join(
        f'\n[process_window.{param.value}]\nmin = {low}\nmax = {high}\nunit = "{param.unit}"\n'
        f"tolerance_s = {tolerance}\n"
        for param, (low, high, tolerance) in DEMO_WINDOW.items()
    )
    manifest = (
        f'id = "{design_id}"\nrevision = "{revision}"\nname = "{name}"\n\n'
        '[[files]]\npath = "model.stl"\nrole = "model"\n\n'
        '[[files]]\npath = "recipe.json"\nrole = "recipe"\n' + window
    )
    (folder / "design.toml").write_text(manifest, encoding="utf-8")


async def install_demo_designs(
    ledger: LedgerService,
    settings: Settings,
    data_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Play the OEM and the consortium admin for the demo (opcua_server.demo.parties): the OEM,
    with its own key, registers each spare part's design and grants this site a licence."""
    designs = {
        (part.design_id, part.design_revision): part.design_id.replace("-", " ").capitalize()
        for part in settings.maintenance.spare_parts
    }
    await play_demo_oem(
        settings,
        ledger.address,
        ledger.key.public_key.hex(),
        designs,
        DEMO_LICENCE_QUOTA,
        os.environ if environ is None else environ,
        write_demo_design,
    )


@dataclass(slots=True)
class Repairs:
    """What the demo's technician has done so far."""

    before_failure: int = 0
    """Spare parts fitted while the machine still ran: the prediction was in time."""
    after_failure: int = 0
    """Spare parts that arrived after the machine had stopped."""
    unplanned: int = 0
    """Machines that stopped with no part on order, repaired after the part's whole lead time."""
    fitted_orders: set[str] = field(default_factory=set)


class DemoTechnician:
    """Fits certified spare parts once they arrive, and repairs machines that failed unforeseen."""

    def __init__(
        self,
        simulation: SimulatedSite,
        orders: OrderBook,
        alerts: AlertService,
        scoring: ScoringService | None,
        catalogue: Mapping[str, SparePart],
        clock: Clock,
    ) -> None:
        self._simulation = simulation
        self._orders = orders
        self._alerts = alerts
        self._scoring = scoring
        self._catalogue = catalogue
        self._clock = clock
        self._compression = simulation.timebase.compression
        self.repairs = Repairs()

    async def tick(self) -> None:
        """Fit the parts that have arrived; repair stopped machines that wait for nothing."""
        now = self._clock.now()
        waiting = await self._fit_arrived_parts(now)
        for machine, wear in self._simulation.wear.items():
            component = wear.failed_component(now)
            if component is not None and (machine, component) not in waiting:
                await self._repair_unforeseen(machine, component, now)

    async def _fit_arrived_parts(self, now: datetime) -> set[tuple[str, str]]:
        """Fit every certified part past its logistics time; the parts still on their way."""
        coming: set[tuple[str, str]] = set()
        live = [OrderState.CREATED, OrderState.DISPATCHED, OrderState.PRINTING]
        for order in await self._orders.list_orders(
            [*live, OrderState.PRINTED, OrderState.CERTIFIED]
        ):
            if not order.alert_id or order.id in self.repairs.fitted_orders:
                continue
            alert = await self._alerts.alert(order.alert_id)
            where = (alert.machine, alert.component)
            arrives = order.updated_at + self._hours(self._logistics_h(alert.component))
            if order.state is not OrderState.CERTIFIED or now < arrives:
                coming.add(where)
                continue
            running = self._simulation.wear[alert.machine].failed_component(now) is None
            await self._fit(*where, f"spare part of order {order.id}")
            if running:
                self.repairs.before_failure += 1
            else:
                self.repairs.after_failure += 1
            self.repairs.fitted_orders.add(order.id)  # last: whoever sees it sees the fit done
        return coming

    async def _repair_unforeseen(self, machine: str, component: str, now: datetime) -> None:
        failed_at = next(
            e.at
            for e in reversed(self._simulation.wear[machine].events)
            if e.component == component
        )
        part = self._catalogue.get(component)
        lead_h = part.lead_time_h if part is not None else DEFAULT_REPAIR_H
        if now >= failed_at + self._hours(lead_h):
            self.repairs.unplanned += 1
            await self._fit(machine, component, f"unplanned repair after {lead_h:g} h down")

    async def _fit(self, machine: str, component: str, why: str) -> None:
        self._simulation.replace(machine, component)
        if self._scoring is not None:
            self._scoring.replaced(machine, component)
        await self._alerts.replaced(machine, component)
        log.info("demo technician: %s of %s replaced (%s)", component, machine, why)

    def _logistics_h(self, component: str) -> float:
        part = self._catalogue.get(component)
        return part.logistics_hours if part is not None else 0.0

    def _hours(self, simulated_h: float) -> timedelta:
        """Clock time of ``simulated_h`` hours on the compressed site."""
        return timedelta(hours=simulated_h / self._compression)


DEFAULT_REPAIR_H = 72.0
"""Down time of a machine whose failed component has no spare part in the catalogue."""
