"""The Machines folder: an object per machine, a variable per tag, fed from readings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from asyncua import Server, ua
from asyncua.common.node import Node

from models import Cause, Machine, Quality, Reading

NAMESPACE_URI = "urn:trustfloor:site"

STATUS_BY_CAUSE: dict[Cause, int] = {
    Cause.NONE: ua.StatusCodes.Good,
    Cause.COMMUNICATION: ua.StatusCodes.BadCommunicationError,
    Cause.DEVICE_EXCEPTION: ua.StatusCodes.BadDeviceFailure,
    Cause.INVALID_VALUE: ua.StatusCodes.BadSensorFailure,
    Cause.OUT_OF_RANGE: ua.StatusCodes.UncertainEngineeringUnitsExceeded,
}
"""OPC 10000-4 §7.39 status codes for each reason a reading is not Good."""


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


class MachinesAddressSpace:
    """Builds the Machines folder and applies readings to its variables."""

    def __init__(self, server: Server, namespace: int) -> None:
        self._server = server
        self.namespace = namespace
        self._variables: dict[tuple[str, str], ua.NodeId] = {}
        self.folder: Node | None = None

    async def build(self, machines: Iterable[Machine]) -> None:
        objects = self._server.nodes.objects
        self.folder = await objects.add_folder(
            ua.NodeId("Machines", self.namespace), f"{self.namespace}:Machines"
        )
        for machine in machines:
            await self._add_machine(self.folder, machine)

    async def _add_machine(self, folder: Node, machine: Machine) -> None:
        ns = self.namespace
        node = await folder.add_object(
            ua.NodeId(f"Machines/{machine.id}", ns), f"{ns}:{machine.id}"
        )
        await node.write_attribute(
            ua.AttributeIds.DisplayName,
            ua.DataValue(ua.Variant(ua.LocalizedText(machine.name or machine.id))),
        )
        identification = await node.add_object(
            ua.NodeId(f"Machines/{machine.id}/Identification", ns), f"{ns}:Identification"
        )
        for name, value in (
            ("Manufacturer", machine.manufacturer),
            ("Model", machine.model),
            ("SerialNumber", machine.serial_number),
        ):
            await identification.add_property(
                ua.NodeId(f"Machines/{machine.id}/Identification/{name}", ns),
                f"{ns}:{name}",
                ua.LocalizedText(value) if name != "SerialNumber" else value,
            )
        for tag in machine.tags:
            node_id = tag_node_id(ns, machine.id, tag.name)
            variable = await node.add_variable(
                node_id, f"{ns}:{tag.name}", ua.Variant(0.0, ua.VariantType.Double)
            )
            if tag.description or tag.unit:
                text = f"{tag.description} [{tag.unit}]".strip()
                await variable.write_attribute(
                    ua.AttributeIds.Description, ua.DataValue(ua.Variant(ua.LocalizedText(text)))
                )
            await self._server.write_attribute_value(
                node_id,
                ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData)),
            )
            self._variables[(machine.id, tag.name)] = node_id

    def node_id(self, machine: str, tag: str) -> ua.NodeId:
        """NodeId of a tag variable; KeyError when the tag is not configured."""
        return self._variables[(machine, tag)]

    async def publish(self, readings: Sequence[Reading]) -> int:
        """Write readings into their variables with source timestamp and status; returns count."""
        written = 0
        now = datetime.now(UTC)
        for reading in readings:
            node_id = self._variables.get((reading.machine, reading.tag))
            if node_id is None:
                continue
            variant = (
                ua.Variant(float(reading.value), ua.VariantType.Double)
                if isinstance(reading.value, int | float)
                else ua.Variant()
            )
            value = ua.DataValue(
                variant,
                StatusCode=status_of(reading),
                SourceTimestamp=reading.source_ts,
                ServerTimestamp=now,
            )
            await self._server.write_attribute_value(node_id, value)
            written += 1
        return written
