"""A simulated printer's behaviour, pure: jobs, layers in compressed time, process values."""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate

from connectors.errors import ConnectorError
from models import InvalidStateError, PrinterJobState, ProcessParameter


@dataclass(frozen=True, slots=True)
class Nominal:
    """The nominal window of one process value: mean, layer-to-layer noise, value when idle."""

    mean: float
    noise: float
    idle: float
    unit_id: int
    """UNECE Rec. 20 common code packed as OPC 10000-8 §5.6.3 UnitId (e.g. "WTT" → 0x575454)."""


NOMINAL: dict[ProcessParameter, Nominal] = {
    ProcessParameter.LASER_POWER: Nominal(280.0, 2.0, 0.0, 0x575454),
    ProcessParameter.CHAMBER_OXYGEN: Nominal(400.0, 25.0, 400.0, 0x3539),
    ProcessParameter.BUILD_PLATE_TEMPERATURE: Nominal(180.0, 0.5, 180.0, 0x43454C),
    ProcessParameter.LAYER_TIME: Nominal(40.0, 1.0, 0.0, 0x534543),
}
"""A laser powder-bed fusion machine printing a steel alloy under argon."""

MIN_LAYER_TIME_S = 0.1


class PrinterError(ConnectorError):
    """The simulated printer refused a request."""


class PrinterBusyError(PrinterError, InvalidStateError):
    """A job is printing; a new one can only start once it completed or was aborted."""


class NoJobPrintingError(PrinterError, InvalidStateError):
    """The request needs a job that is printing, and none is."""


@dataclass(frozen=True, slots=True)
class SimulatedExcursion:
    """A process excursion injected into a job: ground truth for quality checks."""

    job_id: str
    parameter: ProcessParameter
    magnitude: float
    first_layer: int
    last_layer: int
    """1-based layers of the job whose values carry the excursion."""


@dataclass(slots=True)
class SimulatedJob:
    """One job run: its identity, its planned per-layer process values, and how it ended."""

    job_id: str
    design_id: str
    layers: int
    material_lot: str
    started: datetime
    values: dict[ProcessParameter, list[float]]
    ends: list[float] = field(default_factory=list)
    """Simulated seconds from start at which each layer is complete."""
    aborted: bool = False
    revision: str = ""
    dossier_sha256: str = ""
    stop_reason: str = ""
    """Why the job stopped before its last layer ("" while it prints or once it completed)."""

    def __post_init__(self) -> None:
        self.retime()

    def retime(self) -> None:
        self.ends = list(accumulate(self.values[ProcessParameter.LAYER_TIME]))

    def completed_layers(self, elapsed_s: float) -> int:
        return bisect.bisect_right(self.ends, elapsed_s)


@dataclass(frozen=True, slots=True)
class PrinterSnapshot:
    """Everything the printer shows at one instant."""

    state: PrinterJobState
    job_id: str
    design_id: str
    material_lot: str
    layers_planned: int
    current_layer: int
    """Layers completed so far (OPC 40540 §10.1 RunInfoDataType.CurrentLayer)."""
    remaining_s: float
    jobs_completed: int
    process: dict[ProcessParameter, float]
    revision: str = ""
    dossier_sha256: str = ""
    stop_reason: str = ""


class PrinterModel:
    """The printer's behaviour, pure: jobs, layers in compressed time, process values, excursions.

    A job's per-layer values are drawn when it starts from ``seed``, the printer and the job
    id alone, so the same job prints the same way in every run.
    """

    def __init__(self, printer_id: str, *, seed: int = 0, time_compression: float = 1.0) -> None:
        if time_compression <= 0:
            raise ValueError("time_compression must be positive")
        self.printer_id = printer_id
        self._seed = seed
        self._compression = time_compression
        self._job: SimulatedJob | None = None
        self._jobs_completed = 0
        self._counted: set[str] = set()
        self.excursions: list[SimulatedExcursion] = []

    def start_job(
        self,
        job_id: str,
        design_id: str,
        layers: int,
        material_lot: str,
        now: datetime,
        *,
        revision: str = "",
        dossier_sha256: str = "",
    ) -> SimulatedJob:
        """Start printing ``layers`` layers; refused while another job prints."""
        if self.state(now) is PrinterJobState.PRINTING:
            assert self._job is not None
            raise PrinterBusyError(
                f"printer {self.printer_id} is printing job {self._job.job_id}",
                advice="wait until it completes, or abort it first",
            )
        if layers < 1 or not job_id:
            raise PrinterError(
                f"a job needs an id and at least one layer (got {job_id!r}, {layers})",
                advice="pass a job id and a positive layer count",
            )
        self._job = SimulatedJob(
            job_id,
            design_id,
            layers,
            material_lot,
            now,
            self._draw(job_id, layers),
            revision=revision,
            dossier_sha256=dossier_sha256,
        )
        return self._job

    def abort(self, now: datetime, reason: str = "aborted on request") -> None:
        """Stop the printing job where it is, for ``reason``."""
        job = self._printing(now)
        job.aborted = True
        job.stop_reason = reason
        job.ends = job.ends[: job.completed_layers(self._elapsed(job, now))]

    def clear(self, now: datetime) -> None:
        """Forget the job that ended, so that the printer shows Idle; refused while it prints."""
        if self.state(now) is PrinterJobState.PRINTING:
            assert self._job is not None
            raise PrinterBusyError(
                f"printer {self.printer_id} is printing job {self._job.job_id}",
                advice="abort it before clearing it",
            )
        self._job = None

    def inject_excursion(
        self, parameter: ProcessParameter, magnitude: float, duration_layers: int, now: datetime
    ) -> SimulatedExcursion:
        """Shift ``parameter`` by ``magnitude`` for ``duration_layers`` from the current layer."""
        job = self._printing(now)
        if duration_layers < 1:
            raise PrinterError(
                "an excursion lasts at least one layer", advice="pass duration_layers >= 1"
            )
        first = job.completed_layers(self._elapsed(job, now))
        last = min(first + duration_layers, job.layers)
        series = job.values[parameter]
        for index in range(first, last):
            series[index] += magnitude
            if parameter is ProcessParameter.LAYER_TIME:
                series[index] = max(series[index], MIN_LAYER_TIME_S)
        job.retime()
        excursion = SimulatedExcursion(job.job_id, parameter, magnitude, first + 1, last)
        self.excursions.append(excursion)
        return excursion

    def state(self, now: datetime) -> PrinterJobState:
        job = self._job
        if job is None:
            return PrinterJobState.IDLE
        if job.aborted:
            return PrinterJobState.ABORTED
        if job.completed_layers(self._elapsed(job, now)) >= job.layers:
            self._count_completion(job)
            return PrinterJobState.COMPLETED
        return PrinterJobState.PRINTING

    def snapshot(self, now: datetime) -> PrinterSnapshot:
        """The printer's values at ``now``."""
        state = self.state(now)
        job = self._job
        if job is None:
            return PrinterSnapshot(
                state, "", "", "", 0, 0, 0.0, self._jobs_completed, _idle_values()
            )
        elapsed = self._elapsed(job, now)
        done = min(job.completed_layers(elapsed), job.layers)
        printing = state is PrinterJobState.PRINTING
        process = {p: job.values[p][done] for p in ProcessParameter} if printing else _idle_values()
        remaining = max(0.0, job.ends[-1] - elapsed) if printing else 0.0
        return PrinterSnapshot(
            state=state,
            job_id=job.job_id,
            design_id=job.design_id,
            material_lot=job.material_lot,
            layers_planned=job.layers,
            current_layer=done,
            remaining_s=remaining,
            jobs_completed=self._jobs_completed,
            process=process,
            revision=job.revision,
            dossier_sha256=job.dossier_sha256,
            stop_reason=job.stop_reason,
        )

    def _draw(self, job_id: str, layers: int) -> dict[ProcessParameter, list[float]]:
        rng = random.Random(f"{self._seed}:{self.printer_id}:{job_id}")
        return {p: [rng.gauss(n.mean, n.noise) for _ in range(layers)] for p, n in NOMINAL.items()}

    def _elapsed(self, job: SimulatedJob, now: datetime) -> float:
        """Simulated seconds since ``job`` started."""
        return (now - job.started).total_seconds() * self._compression

    def _printing(self, now: datetime) -> SimulatedJob:
        if self.state(now) is not PrinterJobState.PRINTING or self._job is None:
            raise NoJobPrintingError(
                f"printer {self.printer_id} is not printing", advice="start a job first"
            )
        return self._job

    def _count_completion(self, job: SimulatedJob) -> None:
        if job.job_id not in self._counted:
            self._counted.add(job.job_id)
            self._jobs_completed += 1


def _idle_values() -> dict[ProcessParameter, float]:
    return {p: n.idle for p, n in NOMINAL.items()}


def process_parameter(name: ProcessParameter | str) -> ProcessParameter:
    """The process parameter called ``name``; PrinterError when there is none."""
    try:
        return ProcessParameter(name)
    except ValueError:
        raise PrinterError(
            f"{name!r} is not a process value",
            advice=f"use one of {[p.value for p in ProcessParameter]}",
        ) from None
