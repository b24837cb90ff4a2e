"""Simulated additive-manufacturing printer: a real OPC UA server after OPC 40540."""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import accumulate
from typing import cast
from urllib.parse import urlparse

from asyncua import Node, Server, ua

from connectors.errors import ConnectorError
from models import Clock
from models.machines import OpcUaTag, Printer

log = logging.getLogger(__name__)

NAMESPACE_URI = "urn:trustfloor:sim:printer"
"""Namespace of the simulated printers' nodes."""

UNECE_UNITS = "http://www.opcfoundation.org/UA/units/un/cefact"


class JobState(StrEnum):
    """Where the printer's job stands (a flattened ISA-95 job state, OPC 10031-4)."""

    IDLE = "Idle"
    PRINTING = "Printing"
    COMPLETED = "Completed"
    ABORTED = "Aborted"


class ProcessParameter(StrEnum):
    """Process values a powder-bed printer reports for the layer it is printing."""

    LASER_POWER = "LaserPower"
    CHAMBER_OXYGEN = "ChamberOxygen"
    BUILD_PLATE_TEMPERATURE = "BuildPlateTemperature"
    LAYER_TIME = "LayerTime"


@dataclass(frozen=True, slots=True)
class Nominal:
    """The nominal window of one process value: mean, layer-to-layer noise, value when idle."""

    mean: float
    noise: float
    idle: float
    unit: str
    unit_id: int
    """UNECE Rec. 20 common code packed as OPC 10000-8 §5.6.3 UnitId (e.g. "WTT" → 0x575454)."""


NOMINAL: dict[ProcessParameter, Nominal] = {
    ProcessParameter.LASER_POWER: Nominal(280.0, 2.0, 0.0, "W", 0x575454),
    ProcessParameter.CHAMBER_OXYGEN: Nominal(400.0, 25.0, 400.0, "ppm", 0x3539),
    ProcessParameter.BUILD_PLATE_TEMPERATURE: Nominal(180.0, 0.5, 180.0, "Cel", 0x43454C),
    ProcessParameter.LAYER_TIME: Nominal(40.0, 1.0, 0.0, "s", 0x534543),
}
"""A laser powder-bed fusion machine printing a steel alloy under argon."""

MIN_LAYER_TIME_S = 0.1

MethodHandler = Callable[..., Awaitable[list[ua.Variant] | ua.StatusCode]]


class PrinterError(ConnectorError):
    """The simulated printer refused a request."""


class PrinterBusyError(PrinterError):
    """A job is printing; a new one can only start once it completed or was aborted."""


class NoJobPrintingError(PrinterError):
    """The request needs a job that is printing, and none is."""


@dataclass(frozen=True, slots=True)
class Excursion:
    """A process excursion injected into a job: ground truth for quality checks."""

    job_id: str
    parameter: ProcessParameter
    magnitude: float
    first_layer: int
    last_layer: int
    """1-based layers of the job whose values carry the excursion."""


@dataclass(slots=True)
class PrintJob:
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

    def __post_init__(self) -> None:
        self.retime()

    def retime(self) -> None:
        self.ends = list(accumulate(self.values[ProcessParameter.LAYER_TIME]))

    def completed_layers(self, elapsed_s: float) -> int:
        return bisect.bisect_right(self.ends, elapsed_s)


@dataclass(frozen=True, slots=True)
class PrinterSnapshot:
    """Everything the printer shows at one instant."""

    state: JobState
    job_id: str
    design_id: str
    material_lot: str
    layers_planned: int
    current_layer: int
    """Layers completed so far (OPC 40540 §10.1 RunInfoDataType.CurrentLayer)."""
    remaining_s: float
    jobs_completed: int
    process: dict[ProcessParameter, float]


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
        self._job: PrintJob | None = None
        self._jobs_completed = 0
        self._counted: set[str] = set()
        self.excursions: list[Excursion] = []

    def start_job(
        self, job_id: str, design_id: str, layers: int, material_lot: str, now: datetime
    ) -> PrintJob:
        """Start printing ``layers`` layers; refused while another job prints."""
        if self.state(now) is JobState.PRINTING:
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
        self._job = PrintJob(
            job_id, design_id, layers, material_lot, now, self._draw(job_id, layers)
        )
        return self._job

    def abort(self, now: datetime) -> None:
        """Stop the printing job where it is."""
        job = self._printing(now)
        job.aborted = True
        job.ends = job.ends[: job.completed_layers(self._elapsed(job, now))]

    def inject_excursion(
        self, parameter: ProcessParameter, magnitude: float, duration_layers: int, now: datetime
    ) -> Excursion:
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
        excursion = Excursion(job.job_id, parameter, magnitude, first + 1, last)
        self.excursions.append(excursion)
        return excursion

    def state(self, now: datetime) -> JobState:
        job = self._job
        if job is None:
            return JobState.IDLE
        if job.aborted:
            return JobState.ABORTED
        if job.completed_layers(self._elapsed(job, now)) >= job.layers:
            self._count_completion(job)
            return JobState.COMPLETED
        return JobState.PRINTING

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
        printing = state is JobState.PRINTING
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
        )

    def _draw(self, job_id: str, layers: int) -> dict[ProcessParameter, list[float]]:
        rng = random.Random(f"{self._seed}:{self.printer_id}:{job_id}")
        return {p: [rng.gauss(n.mean, n.noise) for _ in range(layers)] for p, n in NOMINAL.items()}

    def _elapsed(self, job: PrintJob, now: datetime) -> float:
        """Simulated seconds since ``job`` started."""
        return (now - job.started).total_seconds() * self._compression

    def _printing(self, now: datetime) -> PrintJob:
        if self.state(now) is not JobState.PRINTING or self._job is None:
            raise NoJobPrintingError(
                f"printer {self.printer_id} is not printing", advice="start a job first"
            )
        return self._job

    def _count_completion(self, job: PrintJob) -> None:
        if job.job_id not in self._counted:
            self._counted.add(job.job_id)
            self._jobs_completed += 1


def _idle_values() -> dict[ProcessParameter, float]:
    return {p: n.idle for p, n in NOMINAL.items()}


@dataclass(frozen=True, slots=True)
class _Variable:
    path: str
    vtype: ua.VariantType
    initial: object


_JOB = "JobManagement"
_PROCESS = "Monitoring/ProcessValues"
_VARIABLES: dict[str, _Variable] = {
    "State": _Variable(f"{_JOB}/State", ua.VariantType.String, JobState.IDLE.value),
    "JobId": _Variable(f"{_JOB}/JobId", ua.VariantType.String, ""),
    "DesignId": _Variable(f"{_JOB}/DesignId", ua.VariantType.String, ""),
    "LayersPlanned": _Variable(f"{_JOB}/LayersPlanned", ua.VariantType.UInt32, 0),
    "CurrentLayer": _Variable(f"{_JOB}/CurrentLayer", ua.VariantType.UInt32, 0),
    "RemainingTime": _Variable(f"{_JOB}/RemainingTime", ua.VariantType.Double, 0.0),
    "JobsCompleted": _Variable(f"{_JOB}/JobsCompleted", ua.VariantType.UInt32, 0),
    "MaterialLot": _Variable("Equipment/Feedstock/MaterialLot", ua.VariantType.String, ""),
    **{
        p.value: _Variable(f"{_PROCESS}/{p.value}", ua.VariantType.Double, n.idle)
        for p, n in NOMINAL.items()
    },
}
"""Variables of a printer: name → path under ``Machines/<printer id>/``."""


_PROCESS_NAMES = frozenset(p.value for p in ProcessParameter)


def node_id(printer_id: str, name: str) -> str:
    """``nsu=`` NodeId string of a printer variable or method, valid across server restarts."""
    path = _VARIABLES[name].path if name in _VARIABLES else f"{_JOB}/{name}"
    return f"nsu={NAMESPACE_URI};s=Machines/{printer_id}/{path}"


def printer_tags(printer_id: str, sampling_interval_ms: float = 100.0) -> tuple[OpcUaTag, ...]:
    """Tags an OPC UA client connector subscribes to for a simulated printer's telemetry."""
    return tuple(
        OpcUaTag(
            name=name,
            node_id=node_id(printer_id, name),
            unit=NOMINAL[ProcessParameter(name)].unit if name in _PROCESS_NAMES else "",
            sampling_interval_ms=sampling_interval_ms,
        )
        for name in _VARIABLES
    )


def _values(snapshot: PrinterSnapshot) -> Iterator[tuple[str, object]]:
    yield "State", snapshot.state.value
    yield "JobId", snapshot.job_id
    yield "DesignId", snapshot.design_id
    yield "LayersPlanned", snapshot.layers_planned
    yield "CurrentLayer", snapshot.current_layer
    yield "RemainingTime", snapshot.remaining_s
    yield "JobsCompleted", snapshot.jobs_completed
    yield "MaterialLot", snapshot.material_lot
    for parameter, value in snapshot.process.items():
        yield parameter.value, value


def _argument(name: str, vtype: ua.VariantType, description: str) -> ua.Argument:
    argument = ua.Argument()
    argument.Name = name
    argument.DataType = ua.NodeId(vtype.value)
    argument.ValueRank = -1
    argument.Description = ua.LocalizedText(description)
    return argument


class SimulatedPrinter:
    """Serves a PrinterModel over OPC UA (asyncua) on 127.0.0.1, security None.

    Address space, after OPC 40540 and OPC 40001-1: ``Objects/Machines/<id>/`` with
    ``Identification`` (Manufacturer, Model, SerialNumber), ``JobManagement`` (State, JobId,
    DesignId, LayersPlanned, CurrentLayer, RemainingTime, JobsCompleted and the methods
    StartJob, AbortJob, InjectExcursion), ``Equipment/Feedstock/MaterialLot`` and
    ``Monitoring/ProcessValues`` (LaserPower W, ChamberOxygen ppm, BuildPlateTemperature °C,
    LayerTime s, each with EngineeringUnits). A device simulator for a lab: it offers no
    security and no login.
    """

    def __init__(
        self,
        printer: Printer,
        clock: Clock,
        *,
        seed: int = 0,
        time_compression: float = 1.0,
        update_interval_s: float = 0.1,
    ) -> None:
        self.printer = printer
        self.model = PrinterModel(printer.id, seed=seed, time_compression=time_compression)
        self._clock = clock
        self._update_interval_s = update_interval_s
        self._server: Server | None = None
        self._nodes: dict[str, Node] = {}
        self._shown: dict[str, object] = {}
        self._updater: asyncio.Task[None] | None = None
        self.url = printer.opcua.url

    async def start(self) -> str:
        """Listen (port 0 picks a free one), keep values current, and return the endpoint URL."""
        if self._server is not None:
            raise PrinterError(f"simulated printer {self.printer.id} is already running")
        self._nodes.clear()
        self._shown.clear()
        server = Server()
        await server.init()
        server.set_server_name(f"trustfloor simulated printer {self.printer.id}")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_endpoint(self.url)
        await self._build(server)
        await server.start()
        self.url = await self._rebind_to_actual_port(server)
        self._server = server
        await self.update()
        self._updater = asyncio.create_task(
            self._keep_updating(), name=f"printer:{self.printer.id}"
        )
        log.info("simulated printer %s serving OPC UA on %s", self.printer.id, self.url)
        return self.url

    async def stop(self) -> None:
        """Stop serving; the job state stays in the model (a restart resumes it)."""
        if self._updater is not None:
            self._updater.cancel()
            await asyncio.gather(self._updater, return_exceptions=True)
            self._updater = None
        if self._server is not None:
            await self._server.stop()
            self._server = None

    def start_job(self, job_id: str, design_id: str, layers: int, material_lot: str) -> PrintJob:
        return self.model.start_job(job_id, design_id, layers, material_lot, self._clock.now())

    def abort(self) -> None:
        self.model.abort(self._clock.now())

    def inject_excursion(
        self, parameter: ProcessParameter | str, magnitude: float, duration_layers: int
    ) -> Excursion:
        """Shift a process value for some layers so that downstream checks can reject the part."""
        return self.model.inject_excursion(
            _parameter(parameter), magnitude, duration_layers, self._clock.now()
        )

    async def update(self) -> None:
        """Publish the model's values at the clock's current time (the loop calls it too)."""
        if self._server is None:
            return
        now = self._clock.now()
        for name, value in _values(self.model.snapshot(now)):
            if self._shown.get(name) != value:
                variant = ua.Variant(value, _VARIABLES[name].vtype)
                data = ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)
                await self._server.write_attribute_value(self._nodes[name].nodeid, data)
                self._shown[name] = value

    async def _keep_updating(self) -> None:
        while True:
            await asyncio.sleep(self._update_interval_s)
            await self.update()

    async def _rebind_to_actual_port(self, server: Server) -> str:
        """After listening on port 0, restart on the port obtained so endpoints carry it."""
        parsed = urlparse(self.url)
        if parsed.port not in (None, 0):
            return self.url
        listener = cast(asyncio.Server, server.bserver._server)  # asyncua keeps it private
        port = int(listener.sockets[0].getsockname()[1])
        url = parsed._replace(netloc=f"{parsed.hostname}:{port}").geturl()
        await server.stop()
        server.set_endpoint(url)
        await server.start()
        return url

    async def _build(self, server: Server) -> None:
        ns = await server.register_namespace(NAMESPACE_URI)
        base = f"Machines/{self.printer.id}"
        machines = await server.nodes.objects.add_folder(ua.NodeId("Machines", ns), "Machines")
        printer = await machines.add_object(ua.NodeId(base, ns), self.printer.id)
        folders: dict[str, Node] = {"": printer}
        await self._identification(printer, ns, base)
        for name, variable in _VARIABLES.items():
            parent = await self._folder(folders, ns, base, variable.path.rpartition("/")[0])
            node_id = ua.NodeId(f"{base}/{variable.path}", ns)
            self._nodes[name] = await parent.add_variable(
                node_id, name, ua.Variant(variable.initial, variable.vtype)
            )
        for parameter, nominal in NOMINAL.items():
            await self._engineering_units(self._nodes[parameter.value], ns, nominal)
        await self._methods(folders[_JOB], ns, base)

    async def _folder(self, folders: dict[str, Node], ns: int, base: str, path: str) -> Node:
        if path not in folders:
            parent_path, _, name = path.rpartition("/")
            parent = await self._folder(folders, ns, base, parent_path)
            folders[path] = await parent.add_object(ua.NodeId(f"{base}/{path}", ns), name)
        return folders[path]

    async def _identification(self, printer: Node, ns: int, base: str) -> None:
        """OPC 40001-1 §8.2 MachineIdentificationType, mandatory properties only."""
        ident = await printer.add_object(ua.NodeId(f"{base}/Identification", ns), "Identification")
        properties = {
            "Manufacturer": self.printer.manufacturer,
            "Model": self.printer.model,
            "SerialNumber": self.printer.serial_number,
        }
        for name, value in properties.items():
            await ident.add_property(ua.NodeId(f"{base}/Identification/{name}", ns), name, value)

    async def _engineering_units(self, node: Node, ns: int, nominal: Nominal) -> None:
        """The EngineeringUnits property of an AnalogItem (OPC 10000-8 §5.3.2.3, §5.6.3)."""
        info = ua.EUInformation()
        info.NamespaceUri = UNECE_UNITS
        info.UnitId = nominal.unit_id
        info.DisplayName = ua.LocalizedText(nominal.unit)
        info.Description = ua.LocalizedText(nominal.unit)
        await node.add_property(
            ua.NodeId(f"{node.nodeid.Identifier}/EngineeringUnits", ns),
            ua.QualifiedName("EngineeringUnits", 0),
            info,
        )

    async def _methods(self, job: Node, ns: int, base: str) -> None:
        string, uint32, double = ua.VariantType.String, ua.VariantType.UInt32, ua.VariantType.Double
        await job.add_method(
            ua.NodeId(f"{base}/{_JOB}/StartJob", ns),
            "StartJob",
            self._method(
                lambda job, design, layers, lot: self.start_job(
                    str(job), str(design), int(layers), str(lot)
                )
            ),
            [
                _argument("JobId", string, "unique id of this job run"),
                _argument("DesignId", string, "design (dossier) to print"),
                _argument("Layers", uint32, "layers planned"),
                _argument("MaterialLot", string, "feedstock lot loaded"),
            ],
            [],
        )
        abort = self._method(self.abort)
        await job.add_method(ua.NodeId(f"{base}/{_JOB}/AbortJob", ns), "AbortJob", abort)
        await job.add_method(
            ua.NodeId(f"{base}/{_JOB}/InjectExcursion", ns),
            "InjectExcursion",
            self._method(
                lambda parameter, magnitude, layers: self.inject_excursion(
                    str(parameter), float(magnitude), int(layers)
                )
            ),
            [
                _argument("Parameter", string, "LaserPower, ChamberOxygen, ... (a process value)"),
                _argument("Magnitude", double, "added to the value, in its engineering unit"),
                _argument("DurationLayers", uint32, "layers affected from the current one"),
            ],
            [],
        )

    def _method(self, action: Callable[..., object]) -> MethodHandler:
        """An OPC UA method handler running ``action`` on the arguments' values.

        A refusal becomes the call's status (OPC 10000-4 §5.11.2): BadInvalidState while the
        printer is busy or idle, BadInvalidArgument for arguments it cannot use.
        """

        async def handle(
            _parent: ua.NodeId, *arguments: ua.Variant
        ) -> list[ua.Variant] | ua.StatusCode:
            try:
                action(*(argument.Value for argument in arguments))
            except (PrinterBusyError, NoJobPrintingError) as error:
                log.info("refused: %s", error)
                return ua.StatusCode(ua.StatusCodes.BadInvalidState)
            except (PrinterError, TypeError, ValueError) as error:
                log.info("refused: %s", error)
                return ua.StatusCode(ua.StatusCodes.BadInvalidArgument)
            await self.update()
            return []

        return handle


def _parameter(name: ProcessParameter | str) -> ProcessParameter:
    try:
        return ProcessParameter(name)
    except ValueError:
        raise PrinterError(
            f"{name!r} is not a process value",
            advice=f"use one of {[p.value for p in ProcessParameter]}",
        ) from None
