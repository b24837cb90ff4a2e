"""Simulated additive-manufacturing printer: a real OPC UA server after OPC 40540."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlparse

from asyncua import Node, Server, ua

from connectors.simulated.printer_model import (
    NOMINAL,
    NoJobPrintingError,
    Nominal,
    PrinterBusyError,
    PrinterError,
    PrinterModel,
    PrinterSnapshot,
    SimulatedExcursion,
    SimulatedJob,
    process_parameter,
)
from models import (
    JOB_MANAGEMENT,
    PRINTER_NAMESPACE,
    PRINTER_NODE_PATHS,
    Clock,
    Printer,
    PrinterJobState,
    PrinterTag,
    ProcessParameter,
)

log = logging.getLogger(__name__)

UNECE_UNITS = "http://www.opcfoundation.org/UA/units/un/cefact"

MethodHandler = Callable[..., Awaitable[list[ua.Variant] | ua.StatusCode]]


@dataclass(frozen=True, slots=True)
class _Variable:
    vtype: ua.VariantType
    initial: object


_JOB_VARIABLES = {
    PrinterTag.STATE: _Variable(ua.VariantType.String, PrinterJobState.IDLE.value),
    PrinterTag.JOB_ID: _Variable(ua.VariantType.String, ""),
    PrinterTag.DESIGN_ID: _Variable(ua.VariantType.String, ""),
    PrinterTag.LAYERS_PLANNED: _Variable(ua.VariantType.UInt32, 0),
    PrinterTag.CURRENT_LAYER: _Variable(ua.VariantType.UInt32, 0),
    PrinterTag.REMAINING_TIME: _Variable(ua.VariantType.Double, 0.0),
    PrinterTag.JOBS_COMPLETED: _Variable(ua.VariantType.UInt32, 0),
    PrinterTag.MATERIAL_LOT: _Variable(ua.VariantType.String, ""),
}
_VARIABLES: dict[str, _Variable] = {
    **{tag.value: variable for tag, variable in _JOB_VARIABLES.items()},
    **{p.value: _Variable(ua.VariantType.Double, n.idle) for p, n in NOMINAL.items()},
}
"""Variables of a printer by tag name; each lives at its ``PRINTER_NODE_PATHS`` path."""


def _values(snapshot: PrinterSnapshot) -> Iterator[tuple[str, object]]:
    yield PrinterTag.STATE, snapshot.state.value
    yield PrinterTag.JOB_ID, snapshot.job_id
    yield PrinterTag.DESIGN_ID, snapshot.design_id
    yield PrinterTag.LAYERS_PLANNED, snapshot.layers_planned
    yield PrinterTag.CURRENT_LAYER, snapshot.current_layer
    yield PrinterTag.REMAINING_TIME, snapshot.remaining_s
    yield PrinterTag.JOBS_COMPLETED, snapshot.jobs_completed
    yield PrinterTag.MATERIAL_LOT, snapshot.material_lot
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
        self.clock = clock
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
        # A lab simulator with no users: anonymous only, so no password could travel in clear.
        server.set_identity_tokens([ua.AnonymousIdentityToken])
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

    def start_job(
        self, job_id: str, design_id: str, layers: int, material_lot: str
    ) -> SimulatedJob:
        return self.model.start_job(job_id, design_id, layers, material_lot, self.clock.now())

    def abort(self) -> None:
        self.model.abort(self.clock.now())

    def inject_excursion(
        self, parameter: ProcessParameter | str, magnitude: float, duration_layers: int
    ) -> SimulatedExcursion:
        """Shift a process value for some layers so that downstream checks can reject the part."""
        return self.model.inject_excursion(
            process_parameter(parameter), magnitude, duration_layers, self.clock.now()
        )

    async def update(self) -> None:
        """Publish the model's values at the clock's current time (the loop calls it too)."""
        if self._server is None:
            return
        now = self.clock.now()
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
        ns = await server.register_namespace(PRINTER_NAMESPACE)
        base = f"Machines/{self.printer.id}"
        machines = await server.nodes.objects.add_folder(ua.NodeId("Machines", ns), "Machines")
        printer = await machines.add_object(ua.NodeId(base, ns), self.printer.id)
        folders: dict[str, Node] = {"": printer}
        await self._identification(printer, ns, base)
        for name, variable in _VARIABLES.items():
            path = PRINTER_NODE_PATHS[name]
            parent = await self._folder(folders, ns, base, path.rpartition("/")[0])
            node_id = ua.NodeId(f"{base}/{path}", ns)
            self._nodes[name] = await parent.add_variable(
                node_id, name, ua.Variant(variable.initial, variable.vtype)
            )
        for parameter, nominal in NOMINAL.items():
            await self._engineering_units(self._nodes[parameter.value], ns, parameter, nominal)
        await self._methods(folders[JOB_MANAGEMENT], ns, base)

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

    async def _engineering_units(
        self, node: Node, ns: int, parameter: ProcessParameter, nominal: Nominal
    ) -> None:
        """The EngineeringUnits property of an AnalogItem (OPC 10000-8 §5.3.2.3, §5.6.3)."""
        info = ua.EUInformation()
        info.NamespaceUri = UNECE_UNITS
        info.UnitId = nominal.unit_id
        info.DisplayName = ua.LocalizedText(parameter.unit)
        info.Description = ua.LocalizedText(parameter.unit)
        await node.add_property(
            ua.NodeId(f"{node.nodeid.Identifier}/EngineeringUnits", ns),
            ua.QualifiedName("EngineeringUnits", 0),
            info,
        )

    async def _methods(self, job: Node, ns: int, base: str) -> None:
        string, uint32, double = ua.VariantType.String, ua.VariantType.UInt32, ua.VariantType.Double
        await job.add_method(
            ua.NodeId(f"{base}/{JOB_MANAGEMENT}/StartJob", ns),
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
        await job.add_method(ua.NodeId(f"{base}/{JOB_MANAGEMENT}/AbortJob", ns), "AbortJob", abort)
        await job.add_method(
            ua.NodeId(f"{base}/{JOB_MANAGEMENT}/InjectExcursion", ns),
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
