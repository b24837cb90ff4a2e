"""A printer's OPC 40540 equivalent nodes and Machinery operation counters, from its status."""

# No OPC 40540 (Additive Manufacturing) nodeset is available and its MachineTool base cannot be
# imported, so these are equivalent nodes: plain objects and variables whose BrowseNames carry the
# namespaces and names of OPC 40540 1.0.0 and OPC 40501-1. OperationCounters is a real
# MachineryOperationCounterType (OPC 40001-1 §14.2) from the Machinery nodeset.

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from asyncua import Server, ua

from models import Printer, PrinterJobState, PrinterStatus
from opcua_server.model.namespaces import Namespaces
from opcua_server.model.nodes import NodeBuilder
from opcua_server.model.persisted import PersistedValues

MACHINERY_OPERATION_COUNTER_TYPE = 1009
"""MachineryOperationCounterType in the Machinery namespace (Opc.Ua.Machinery.NodeSet2.xml)."""

FEEDSTOCK_FUNCTION_MAIN = 1
"""FeedstockFunction.Main (OPC 40540): the feedstock becomes part of the finished part."""

RUN_STATE = {
    PrinterJobState.IDLE: "Idle",
    PrinterJobState.PRINTING: "Running",
    PrinterJobState.COMPLETED: "Ended",
    PrinterJobState.ABORTED: "Aborted",
}
"""RunInfo State: the ISA-95 job state name of the printer's build ("Idle" with no job)."""


@dataclass(frozen=True, slots=True)
class OperationCount:
    """What OperationCounters shows: builds started and time spent building (OPC 10000-100 §6.4).

    Both only grow, across restarts (DI IOperationCounterType); ``printing_since`` is the start
    of the build under way, None while the printer does not print.
    """

    cycles: int = 0
    duration_ms: float = 0.0
    printing_since: datetime | None = None

    def observe(self, printing: bool, at: datetime) -> OperationCount:
        """The count after the printer is seen ``printing`` (or not) at ``at``."""
        if printing and self.printing_since is None:
            return replace(self, cycles=self.cycles + 1, printing_since=at)
        if not printing and self.printing_since is not None:
            return OperationCount(self.cycles, self.duration_at(at), None)
        return self

    def duration_at(self, at: datetime) -> float:
        """OperationDuration (ms) at ``at``, the build under way included."""
        if self.printing_since is None:
            return self.duration_ms
        running = max(0.0, (at - self.printing_since).total_seconds() * 1000.0)
        return self.duration_ms + running

    def to_text(self) -> str:
        return f"{self.cycles} {self.duration_ms!r}"

    @classmethod
    def from_text(cls, text: str) -> OperationCount:
        """The count kept by ``to_text``; zero for an empty or unreadable record."""
        try:
            cycles, duration = text.split()
            return cls(cycles=max(0, int(cycles)), duration_ms=max(0.0, float(duration)))
        except ValueError:
            return cls()


@dataclass(frozen=True, slots=True)
class PrinterNodeIds:
    """NodeIds of the variables one printer's status is written to."""

    job_id: ua.NodeId
    state: ua.NodeId
    current_layer: ua.NodeId
    layers_planned: ua.NodeId
    lot: ua.NodeId
    ready: ua.NodeId
    cycles: ua.NodeId
    duration: ua.NodeId


class AdditiveNodes:
    """Adds each printer's OPC 40540 nodes and counters and writes its status into them."""

    def __init__(
        self,
        server: Server,
        namespaces: Namespaces,
        persisted: PersistedValues | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._server = server
        self._ns = namespaces
        self._build = NodeBuilder(server, namespaces.site)
        self._persisted = persisted
        self._now = now
        self._nodes: dict[str, PrinterNodeIds] = {}
        self._counts: dict[str, OperationCount] = {}

    def _am(self, name: str) -> ua.QualifiedName:
        return ua.QualifiedName(name, self._ns.additive)

    async def add(self, machine: ua.NodeId, base: str, printer: Printer) -> None:
        """Identification's AMTechnologyIdentifier, Equipment/Feedstock, RunInfo, counters."""
        await self._build.prop(
            ua.NodeId(f"{base}/Identification", self._ns.site),
            f"{base}/Identification/AMTechnologyIdentifier",
            self._am("AMTechnologyIdentifier"),
            printer.am_technology,
            ua.VariantType.String,
        )
        lot, ready = await self._add_feedstock(machine, base)
        run = await self._add_run_info(machine, base)
        count = OperationCount.from_text(self._kept(printer.id))
        self._counts[printer.id] = count
        cycles, duration = await self._add_counters(machine, base, count)
        self._nodes[printer.id] = PrinterNodeIds(*run, lot, ready, cycles, duration)

    async def _add_feedstock(self, machine: ua.NodeId, base: str) -> tuple[ua.NodeId, ua.NodeId]:
        """Equipment (OPC 40501-1) / Feedstock (FeedstockListType) / Main (FeedstockType)."""
        equipment = await self._build.obj(
            machine, f"{base}/Equipment", ua.QualifiedName("Equipment", self._ns.machine_tool)
        )
        feedstock_list = await self._build.obj(
            equipment, f"{base}/Equipment/Feedstock", self._am("Feedstock")
        )
        path = f"{base}/Equipment/Feedstock/Main"
        main = await self._build.obj(feedstock_list, path, "Main")
        lot = await self._build.prop(main, f"{path}/Identifier", self._am("Identifier"), "")
        await self._build.variable(
            main,
            f"{path}/Function",
            self._am("Function"),
            FEEDSTOCK_FUNCTION_MAIN,
            ua.VariantType.Int32,
            description="FeedstockFunction (OPC 40540): 1 = Main",
        )
        ready = await self._build.variable(
            main, f"{path}/ReadyForProduction", self._am("ReadyForProduction"), False
        )
        return lot, ready

    async def _add_run_info(
        self, machine: ua.NodeId, base: str
    ) -> tuple[ua.NodeId, ua.NodeId, ua.NodeId, ua.NodeId]:
        """RunInfo: the fields of OPC 40540's RunInfoDataType as variables, and LayersPlanned."""
        path = f"{base}/RunInfo"
        run = await self._build.obj(machine, path, self._am("RunInfo"))
        job_id = await self._build.variable(run, f"{path}/Identifier", self._am("Identifier"), "")
        state = await self._build.variable(
            run, f"{path}/State", self._am("State"), RUN_STATE[PrinterJobState.IDLE]
        )
        layer = await self._build.variable(
            run, f"{path}/CurrentLayer", self._am("CurrentLayer"), 0, ua.VariantType.UInt32
        )
        planned = await self._build.variable(
            run, f"{path}/LayersPlanned", "LayersPlanned", 0, ua.VariantType.UInt32
        )
        return job_id, state, layer, planned

    async def _add_counters(
        self, machine: ua.NodeId, base: str, count: OperationCount
    ) -> tuple[ua.NodeId, ua.NodeId]:
        """OperationCounters: a MachineryOperationCounterType add-in with DI's counters."""
        path = f"{base}/OperationCounters"
        counters = await self._build.obj(
            machine,
            path,
            ua.QualifiedName("OperationCounters", self._ns.di),
            type_definition=ua.NodeId(MACHINERY_OPERATION_COUNTER_TYPE, self._ns.machinery),
            reference=ua.ObjectIds.HasAddIn,
        )
        cycles = await self._build.prop(
            counters,
            f"{path}/OperationCycleCounter",
            ua.QualifiedName("OperationCycleCounter", self._ns.di),
            count.cycles,
            ua.VariantType.UInt64,
        )
        duration = await self._build.variable(
            counters,
            f"{path}/OperationDuration",
            ua.QualifiedName("OperationDuration", self._ns.di),
            count.duration_ms,
            ua.VariantType.Double,
            type_definition=ua.ObjectIds.PropertyType,
            reference=ua.ObjectIds.HasProperty,
            data_type=ua.NodeId(ua.ObjectIds.Duration),
        )
        return cycles, duration

    def count(self, printer: str) -> OperationCount:
        """The operation count of ``printer`` now; KeyError for a printer not configured."""
        return self._counts[printer]

    def _kept(self, printer: str) -> str:
        return self._persisted.get(f"{printer}/OperationCounters") if self._persisted else ""

    async def apply(self, status: PrinterStatus) -> None:
        """Write a printer's reported status into its nodes; the counters follow its builds."""
        nodes = self._nodes.get(status.id)
        if nodes is None:
            return
        count = self._count(status)
        values: list[tuple[ua.NodeId, ua.Variant]] = [
            (nodes.job_id, ua.Variant(status.job_id or status.order_id, ua.VariantType.String)),
            (nodes.state, ua.Variant(RUN_STATE[status.job_state], ua.VariantType.String)),
            (nodes.current_layer, ua.Variant(status.current_layer, ua.VariantType.UInt32)),
            (nodes.layers_planned, ua.Variant(status.layers_planned, ua.VariantType.UInt32)),
            (nodes.lot, ua.Variant(status.material_lot, ua.VariantType.String)),
            (nodes.ready, ua.Variant(bool(status.material_lot), ua.VariantType.Boolean)),
            (nodes.cycles, ua.Variant(count.cycles, ua.VariantType.UInt64)),
            (nodes.duration, ua.Variant(count.duration_at(self._now()), ua.VariantType.Double)),
        ]
        for node, variant in values:
            await self._server.write_attribute_value(node, ua.DataValue(variant))

    def _count(self, status: PrinterStatus) -> OperationCount:
        """The printer's count after this status; kept on disk when a build starts or ends."""
        before = self._counts[status.id]
        after = before.observe(status.job_state is PrinterJobState.PRINTING, self._now())
        self._counts[status.id] = after
        changed = after.cycles != before.cycles or after.duration_ms != before.duration_ms
        if changed and self._persisted is not None:
            self._persisted.set(f"{status.id}/OperationCounters", after.to_text())
        return after
