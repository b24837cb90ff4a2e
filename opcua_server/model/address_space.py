"""The Machinery Machines folder (OPC 40001-1): identification, state, telemetry, health."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from asyncua import Server, ua

from models import (
    Cause,
    HealthScore,
    Machine,
    OpcUaMachine,
    OpcUaTag,
    Printer,
    PrinterJobState,
    PrinterStatus,
    Quality,
    Reading,
    ReadingBatch,
    Tag,
)
from opcua_server.fastpath.bulk import data_value, scalar_variant, write_doubles, write_values
from opcua_server.fastpath.sharing import WAITING_FOR_INITIAL_DATA, set_first_value
from opcua_server.model.additive import AdditiveNodes
from opcua_server.model.device_health import add_device_health, device_health_variant
from opcua_server.model.namespaces import Namespaces
from opcua_server.model.nodes import NodeBuilder
from opcua_server.model.persisted import PersistedValues
from opcua_server.model.units import eu_information

STATUS_BY_CAUSE: dict[Cause, int] = {
    Cause.NONE: ua.StatusCodes.Good,
    Cause.COMMUNICATION: ua.StatusCodes.BadCommunicationError,
    Cause.DEVICE_EXCEPTION: ua.StatusCodes.BadDeviceFailure,
    Cause.INVALID_VALUE: ua.StatusCodes.BadSensorFailure,
    Cause.OUT_OF_RANGE: ua.StatusCodes.UncertainEngineeringUnitsExceeded,
}
"""OPC 10000-4 §7.39 status codes for each reason a reading is not Good."""

_DOUBLE, _GOOD = ua.VariantType.Double, ua.StatusCodes.Good

EXECUTING, NOT_EXECUTING, NOT_AVAILABLE = "Executing", "NotExecuting", "NotAvailable"
"""MachineryItemState states (OPC 40001-1 §12.1) this server reports."""

MACHINES_FOLDER = 1001
MACHINERY_ITEM_STATE_TYPE = 1002
MACHINE_IDENTIFICATION_TYPE = 1012
"""Numeric ids in the Machinery namespace (Opc.Ua.Machinery.NodeSet2.xml)."""

STATE_IDS = {"OutOfService": 5004, "NotAvailable": 5005, "Executing": 5006, "NotExecuting": 5007}
"""The states of MachineryItemState_StateMachineType, by name: their numeric Machinery ids."""

Asset = Machine | OpcUaMachine | Printer


def status_of(reading: Reading) -> ua.StatusCode:
    """The status code a client sees for ``reading``."""
    if reading.quality is Quality.GOOD:
        return ua.StatusCode(ua.StatusCodes.Good)
    code = STATUS_BY_CAUSE[reading.cause]
    if reading.quality is Quality.BAD and code == ua.StatusCodes.Good:
        code = ua.StatusCodes.Bad
    return ua.StatusCode(code)


def tag_node_id(namespace: int, machine: str, tag: str) -> ua.NodeId:
    """Stable string NodeId of a tag variable: ``ns=<site>;s=Machines/<machine>/<tag>``."""
    return ua.NodeId(f"Machines/{machine}/{tag}", namespace)


def variant_of(value: object) -> ua.Variant:
    """The Variant a reading's value is published as (numbers as Double)."""
    if isinstance(value, bool):
        return ua.Variant(value, ua.VariantType.Boolean)
    if isinstance(value, int | float):
        return ua.Variant(float(value), ua.VariantType.Double)
    if isinstance(value, str):
        return ua.Variant(value, ua.VariantType.String)
    return ua.Variant()


def published_value(reading: Reading, now: datetime) -> ua.DataValue:
    """The DataValue a reading is published as (built directly: this runs for every reading)."""
    value = reading.value
    shown = (
        scalar_variant(value, ua.VariantType.Double) if type(value) is float else variant_of(value)
    )
    status = ua.StatusCodes.Good if reading.quality is Quality.GOOD else status_of(reading).value
    return data_value(shown, status, reading.source_ts, now)


def _data_type(tag: Tag | OpcUaTag) -> str:
    """A Modbus tag's data type; OPC UA tags are published as Double unless they say otherwise."""
    return tag.address.data_type.value if isinstance(tag, Tag) else "float64"


def _is_numeric(tag: Tag | OpcUaTag) -> bool:
    return _data_type(tag) not in ("string", "bool")


@dataclass(frozen=True, slots=True)
class HealthNodes:
    """NodeIds of one machine's Health object variables."""

    anomaly_score: ua.NodeId
    rul: ua.NodeId
    rul_low: ua.NodeId
    rul_high: ua.NodeId
    state: ua.NodeId
    contributors: ua.NodeId
    model_version: ua.NodeId
    scored_at: ua.NodeId
    device_health: ua.NodeId
    """DI DeviceHealth on the machine itself (opcua_server.model.device_health)."""


class MachinesAddressSpace:
    """Fills the Machinery Machines folder and applies readings and health scores to it."""

    def __init__(
        self, server: Server, namespaces: Namespaces, persisted: PersistedValues | None = None
    ) -> None:
        self.persisted = persisted
        self._server = server
        self.ns = namespaces
        self.namespace = namespaces.site
        self._build = NodeBuilder(server, namespaces.site)
        self._variables: dict[tuple[str, str], ua.NodeId] = {}
        self._state: dict[str, ua.NodeId] = {}
        self._state_id: dict[str, ua.NodeId] = {}
        self._printing: dict[str, bool] = {}
        """Whether each printer is printing now (printers only)."""
        self._state_now: dict[str, str] = {}
        self._health: dict[str, HealthNodes] = {}
        self.asset_id_nodes: dict[ua.NodeId, str] = {}
        self.additive = AdditiveNodes(server, namespaces, persisted)
        self._units: dict[str, ua.EUInformation] = {}
        self._ranges: dict[tuple[float, float], ua.Range] = {}
        """One EUInformation per unit and one Range per span, held by every tag that has it."""

    @property
    def folder(self) -> ua.NodeId:
        """The Machinery Machines folder (ns=Machinery;i=1001) the nodeset brings."""
        return ua.NodeId(MACHINES_FOLDER, self.ns.machinery)

    def _machinery(self, identifier: int) -> ua.NodeId:
        return ua.NodeId(identifier, self.ns.machinery)

    async def build(
        self, machines: Iterable[Machine | OpcUaMachine], printers: Iterable[Printer] = ()
    ) -> None:
        """One object per machine and per printer (OPC 40540 registers AM machines there too)."""
        for machine in machines:
            node = await self._add_asset(machine)
            for tag in machine.tags:
                await self._add_tag(node, machine, tag)
            self._health[machine.id] = await self._add_health(node, f"Machines/{machine.id}")
        for printer in printers:
            node = await self._add_asset(printer)
            await self.additive.add(node, f"Machines/{printer.id}", printer)
            self._printing[printer.id] = False

    async def _add_asset(self, asset: Asset) -> ua.NodeId:
        """The machine object with its Identification and MachineryItemState add-ins."""
        base = f"Machines/{asset.id}"
        node = await self._build.obj(
            self.folder, base, asset.id, display=asset.name or asset.id, organizes=True
        )
        await self._add_identification(node, base, asset)
        await self._add_item_state(node, base, asset.id)
        return node

    async def _add_item_state(self, node: ua.NodeId, base: str, asset_id: str) -> None:
        """MachineryItemState (OPC 40001-1 §12.1): CurrentState with its Id, NotAvailable first."""
        state = await self._build.obj(
            node,
            f"{base}/MachineryItemState",
            ua.QualifiedName("MachineryItemState", self.ns.machinery),
            type_definition=self._machinery(MACHINERY_ITEM_STATE_TYPE),
            reference=ua.ObjectIds.HasAddIn,
        )
        current = await self._build.variable(
            state,
            f"{base}/MachineryItemState/CurrentState",
            ua.QualifiedName("CurrentState", 0),
            ua.LocalizedText(NOT_AVAILABLE),
            type_definition=ua.ObjectIds.FiniteStateVariableType,
        )
        self._state[asset_id] = current
        self._state_id[asset_id] = await self._build.prop(
            current,
            f"{base}/MachineryItemState/CurrentState/Id",
            ua.QualifiedName("Id", 0),
            self._machinery(STATE_IDS[NOT_AVAILABLE]),
            ua.VariantType.NodeId,
        )

    async def _add_identification(self, node: ua.NodeId, base: str, machine: Asset) -> None:
        """Identification as MachineIdentificationType (OPC 40001-1 §8), DI property names."""
        di = self.ns.di
        ident = await self._build.obj(
            node,
            f"{base}/Identification",
            ua.QualifiedName("Identification", di),
            type_definition=self._machinery(MACHINE_IDENTIFICATION_TYPE),
            reference=ua.ObjectIds.HasAddIn,
        )
        maker = machine.manufacturer or "unknown"
        uri = f"urn:trustfloor:machine:{maker}:{machine.serial_number or machine.id}"
        for name, value in (
            ("Manufacturer", ua.LocalizedText(machine.manufacturer)),
            ("Model", ua.LocalizedText(machine.model)),
            ("SerialNumber", machine.serial_number),
            ("ProductInstanceUri", uri.replace(" ", "_")),
        ):
            await self._build.prop(
                ident, f"{base}/Identification/{name}", ua.QualifiedName(name, di), value
            )
        asset = await self._build.prop(
            ident,
            f"{base}/Identification/AssetId",
            ua.QualifiedName("AssetId", di),
            self.persisted.get(f"{machine.id}/AssetId") if self.persisted else "",
            writable=True,
        )
        self.asset_id_nodes[asset] = machine.id

    async def _add_tag(
        self, node: ua.NodeId, machine: Machine | OpcUaMachine, tag: Tag | OpcUaTag
    ) -> None:
        node_id = tag_node_id(self.namespace, machine.id, tag.name)
        description = (
            f"{tag.description} [{tag.unit}]".strip() if tag.description or tag.unit else ""
        )
        if _is_numeric(tag):
            await self._build.analog_item(node, node_id, tag.name, description, historizing=True)
            units = ua.QualifiedName("EngineeringUnits", 0)
            await self._build.prop(
                node_id, f"{node_id.Identifier}/EngineeringUnits", units, self._unit(tag.unit)
            )
            if tag.eu_low is not None and tag.eu_high is not None:
                eu_range = self._range(tag.eu_low, tag.eu_high)
                await self._build.prop(
                    node_id,
                    f"{node_id.Identifier}/EURange",
                    ua.QualifiedName("EURange", 0),
                    eu_range,
                )
        else:
            variant = (
                ua.Variant("", ua.VariantType.String)
                if _data_type(tag) == "string"
                else (ua.Variant(False, ua.VariantType.Boolean))
            )
            await self._build.variable(
                node, node_id, tag.name, variant.Value, variant.VariantType, historizing=True
            )
        await set_first_value(self._server, node_id, WAITING_FOR_INITIAL_DATA)
        self._variables[(machine.id, tag.name)] = node_id

    def _unit(self, symbol: str) -> ua.EUInformation:
        """The EUInformation of a unit symbol (one object for all tags in that unit: asyncua
        never changes a value in place, a write replaces it)."""
        if symbol not in self._units:
            self._units[symbol] = eu_information(symbol)
        return self._units[symbol]

    def _range(self, low: float, high: float) -> ua.Range:
        """The EURange value of a span (one object for all tags with that span)."""
        return self._ranges.setdefault((low, high), ua.Range(low, high))

    async def _add_health(self, node: ua.NodeId, base: str) -> HealthNodes:
        health = await self._build.obj(
            node, f"{base}/Health", "Health", reference=ua.ObjectIds.HasAddIn
        )

        async def var(name: str, value: object, vtype: ua.VariantType) -> ua.NodeId:
            return await self._build.variable(health, f"{base}/Health/{name}", name, value, vtype)

        return HealthNodes(
            anomaly_score=await var("AnomalyScore", 0.0, ua.VariantType.Double),
            rul=await var("RemainingUsefulLife", 0.0, ua.VariantType.Double),
            rul_low=await var("RemainingUsefulLifeLow", 0.0, ua.VariantType.Double),
            rul_high=await var("RemainingUsefulLifeHigh", 0.0, ua.VariantType.Double),
            state=await var("HealthState", "unknown", ua.VariantType.String),
            contributors=await var("TopContributors", [], ua.VariantType.String),
            model_version=await var("ModelVersion", "", ua.VariantType.String),
            scored_at=await var(
                "ScoredAt", datetime(1970, 1, 1, tzinfo=UTC), ua.VariantType.DateTime
            ),
            device_health=await add_device_health(
                self._server, self._build, node, base, self.ns.di
            ),
        )

    def remember_write(self, node_id: ua.NodeId, value: object) -> None:
        """Keep an accepted AssetId write so it survives a restart."""
        machine = self.asset_id_nodes.get(node_id)
        if machine is not None and self.persisted is not None:
            self.persisted.set(f"{machine}/AssetId", "" if value is None else str(value))

    def node_id(self, machine: str, tag: str) -> ua.NodeId:
        """NodeId of a tag variable; KeyError when the tag is not configured."""
        return self._variables[(machine, tag)]

    def point_of(self, node_id: ua.NodeId) -> tuple[str, str] | None:
        """(machine, tag) of a tag variable, or None for any other node."""
        if node_id.NamespaceIndex != self.namespace or not isinstance(node_id.Identifier, str):
            return None
        parts = node_id.Identifier.split("/")
        if len(parts) == 3 and parts[0] == "Machines" and (parts[1], parts[2]) in self._variables:
            return parts[1], parts[2]
        return None

    async def publish(self, readings: Sequence[Reading]) -> int:
        """Write readings into their variables with source timestamp and status; returns count.

        The batch's columns are read as they are: a Good number needs no Reading object.
        """
        batch = ReadingBatch.of(readings)
        now = datetime.now(UTC)
        node_ids = list(map(self._variables.get, zip(batch.machines, batch.tags, strict=True)))
        if batch.all_good and set(map(type, batch.values)) == {float}:
            numbers = cast("Sequence[float]", batch.values)  # every value is a float
            written = await write_doubles(self._server, node_ids, numbers, batch.times, now)
            await self._show_reachable(batch, node_ids)
            return written
        writes: list[tuple[ua.NodeId, ua.DataValue]] = []
        columns = zip(node_ids, batch.values, batch.qualities, batch.times, strict=True)
        for index, (node_id, value, quality, ts) in enumerate(columns):
            if node_id is None:
                continue
            if quality is Quality.GOOD and type(value) is float:
                shown = data_value(scalar_variant(value, _DOUBLE), _GOOD, ts, now)
            else:
                shown = published_value(batch[index], now)
            writes.append((node_id, shown))
        await write_values(self._server, writes)
        await self._show_reachable(batch, node_ids)
        return len(writes)

    async def _show_reachable(
        self, batch: ReadingBatch, node_ids: Sequence[ua.NodeId | None]
    ) -> None:
        for machine, up in self._reachable(batch, node_ids).items():
            await self._set_state(machine, self._working_state(machine) if up else NOT_AVAILABLE)

    def _reachable(
        self, batch: ReadingBatch, node_ids: Sequence[ua.NodeId | None]
    ) -> dict[str, bool]:
        """Whether each machine with a variable in ``batch`` (or printing) answered: some reading
        of it was not lost to a communication failure."""
        shown = dict.fromkeys(itertools.compress(batch.machines, node_ids), False)
        shown.update((m, False) for m in dict.fromkeys(batch.machines) if m in self._printing)
        if Cause.COMMUNICATION not in batch.causes:
            return dict.fromkeys(shown, True)
        for machine, cause in zip(batch.machines, batch.causes, strict=True):
            if machine in shown and cause is not Cause.COMMUNICATION:
                shown[machine] = True
        return shown

    def _working_state(self, machine: str) -> str:
        """The state of a machine that answers: a printer executes only while it prints."""
        printing = self._printing.get(machine)
        return EXECUTING if printing is None or printing else NOT_EXECUTING

    async def _set_state(self, machine: str, state: str) -> None:
        if self._state_now.get(machine) != state:
            self._state_now[machine] = state
            await self._server.write_attribute_value(
                self._state[machine], ua.DataValue(ua.Variant(ua.LocalizedText(state)))
            )
            state_id = ua.Variant(self._machinery(STATE_IDS[state]), ua.VariantType.NodeId)
            await self._server.write_attribute_value(
                self._state_id[machine], ua.DataValue(state_id)
            )

    async def apply_printer(self, printer: PrinterStatus) -> None:
        """A printer's MachineryItemState: Executing while a job prints, NotExecuting otherwise;
        its OPC 40540 nodes and counters."""
        await self.additive.apply(printer)
        if printer.id in self._printing:
            self._printing[printer.id] = printer.job_state is PrinterJobState.PRINTING
            await self._set_state(printer.id, self._working_state(printer.id))

    async def apply_health(self, score: HealthScore) -> None:
        """Show a machine's latest health score in its Health object."""
        nodes = self._health.get(score.machine)
        if nodes is None:
            return
        values: list[tuple[ua.NodeId, ua.Variant]] = [
            (nodes.anomaly_score, ua.Variant(score.anomaly_score, ua.VariantType.Double)),
            (nodes.state, ua.Variant(score.state.value, ua.VariantType.String)),
            (nodes.contributors, ua.Variant(list(score.top_contributors), ua.VariantType.String)),
            (nodes.model_version, ua.Variant(score.model_version, ua.VariantType.String)),
            (nodes.scored_at, ua.Variant(score.ts, ua.VariantType.DateTime)),
            (nodes.device_health, device_health_variant(score.state)),
        ]
        for node, number in (
            (nodes.rul, score.rul),
            (nodes.rul_low, score.rul_low),
            (nodes.rul_high, score.rul_high),
        ):
            values.append(
                (node, ua.Variant(number if number is not None else 0.0, ua.VariantType.Double))
            )
        for node, variant in values:
            await self._server.write_attribute_value(
                node, ua.DataValue(variant, SourceTimestamp=score.ts)
            )
