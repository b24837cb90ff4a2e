"""Printers (after OPC 40540), PrintOrders (ISA-95 job orders, OPC 10031-4), Parts and Designs."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from asyncua import Server, ua

from models import CertificateStatus, Design, Part, PrinterStatus, PrintOrder
from opcua_server.model.nodes import NodeBuilder


@dataclass(frozen=True, slots=True)
class Value:
    """One variable of an item object, with properties set once when it is created."""

    name: str
    variant: ua.Variant
    properties: dict[str, ua.Variant] = field(default_factory=dict)


def text(value: str) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.String)


def count(value: int) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.UInt32)


class ItemFolder:
    """A folder of like objects, created on first sight and updated in place.

    At most ``max_items`` stay in the address space (asyncua slows down with many siblings);
    the oldest are removed first and remain available through the methods.
    """

    def __init__(self, server: Server, builder: NodeBuilder, name: str, max_items: int) -> None:
        self._server = server
        self._build = builder
        self.name = name
        self.max_items = max_items
        self.node_id = ua.NodeId(name, builder.namespace)
        self._items: OrderedDict[str, dict[str, ua.NodeId]] = OrderedDict()

    async def create(self, parent: ua.NodeId) -> None:
        await self._build.folder(parent, self.node_id, self.name)

    def __contains__(self, item_id: str) -> bool:
        return item_id in self._items

    async def upsert(self, item_id: str, values: list[Value]) -> None:
        nodes = self._items.get(item_id)
        if nodes is None:
            nodes = await self._create_item(item_id, values)
            self._items[item_id] = nodes
            await self._prune()
            return
        for value in values:
            await self._server.write_attribute_value(nodes[value.name], ua.DataValue(value.variant))
            for prop_name, prop_value in value.properties.items():
                await self._server.write_attribute_value(
                    nodes[f"{value.name}/{prop_name}"], ua.DataValue(prop_value)
                )

    async def _create_item(self, item_id: str, values: list[Value]) -> dict[str, ua.NodeId]:
        base = f"{self.name}/{item_id}"
        obj = await self._build.obj(self.node_id, base, item_id)
        nodes: dict[str, ua.NodeId] = {}
        for value in values:
            node = await self._build.variable(
                obj,
                f"{base}/{value.name}",
                value.name,
                value.variant.Value,
                value.variant.VariantType,
            )
            for prop_name, prop_value in value.properties.items():
                nodes[f"{value.name}/{prop_name}"] = await self._build.prop(
                    node,
                    f"{base}/{value.name}/{prop_name}",
                    ua.QualifiedName(prop_name, 0),
                    prop_value.Value,
                    prop_value.VariantType,
                )
            nodes[value.name] = node
        return nodes

    async def _prune(self) -> None:
        while len(self._items) > self.max_items:
            oldest, _ = self._items.popitem(last=False)
            node = self._server.get_node(ua.NodeId(f"{self.name}/{oldest}", self._build.namespace))
            await self._server.delete_nodes([node], recursive=True)


PASSPORT_STATUS = {
    CertificateStatus.NONE: "in production",
    CertificateStatus.ISSUED: "active",
    CertificateStatus.ANCHORED: "active",
    CertificateStatus.SUSPENDED: "suspended",
    CertificateStatus.REVOKED: "revoked",
    CertificateStatus.REFUSED: "invalid",
}
"""The passport's status for each certificate status."""


@dataclass(frozen=True, slots=True)
class PassportIssuer:
    """Who issues the parts' passports (DPP metadata after IDTA 02099 / EN 18223, shown on each
    part after OPC 30450-1): the economic operator, its facility, its public address."""

    economic_operator: str = ""
    facility: str = ""
    public_base_url: str = ""

    def identifier(self, serial: str) -> str:
        """The part's unique product identifier: its verification URL, or a urn without one."""
        if not self.public_base_url:
            return f"urn:trustfloor:part:{serial}"
        return f"{self.public_base_url.rstrip('/')}/verify/{serial}"

    def of(self, part: Part, now: datetime) -> Value:
        """The part's ``DigitalProductPassport`` variable with the passport's metadata."""
        return Value(
            "DigitalProductPassport",
            text(self.identifier(part.serial)),
            {
                "Granularity": text("item"),
                "EconomicOperator": text(self.economic_operator),
                "Facility": text(self.facility),
                "Status": text(PASSPORT_STATUS.get(part.certificate, "active")),
                "LastUpdate": ua.Variant(now, ua.VariantType.DateTime),
            },
        )


class ProductionAddressSpace:
    """The folders an MES uses to follow printing: printers, orders, parts, designs."""

    def __init__(
        self,
        server: Server,
        namespace: int,
        *,
        max_items: int = 200,
        on_printer: Callable[[PrinterStatus], Awaitable[None]] | None = None,
        passport: PassportIssuer | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        builder = NodeBuilder(server, namespace)
        self._passport = passport or PassportIssuer()
        self._now = now
        self._on_printer = on_printer
        self.printers = ItemFolder(server, builder, "Printers", max_items)
        self.orders = ItemFolder(server, builder, "PrintOrders", max_items)
        self.parts = ItemFolder(server, builder, "Parts", max_items)
        self.designs = ItemFolder(server, builder, "Designs", max_items)
        self._objects = server.nodes.objects.nodeid

    async def build(self) -> None:
        for folder in (self.printers, self.orders, self.parts, self.designs):
            await folder.create(self._objects)

    async def apply_order(self, order: PrintOrder) -> None:
        """ISA-95 job order view: JobOrderID, state names of both machines, quantities, and why
        a rejected or cancelled order ended so (StateReason)."""
        await self.orders.upsert(
            order.id,
            [
                Value("JobOrderID", text(order.id)),
                Value("JobState", text(order.state.isa95)),
                Value("State", text(order.state.value)),
                Value("DesignId", text(order.design_id)),
                Value("DesignRevision", text(order.design_revision)),
                Value("Quantity", count(order.quantity)),
                Value("Reason", text(order.reason)),
                Value("RequestedBy", text(order.requested_by)),
                Value("Printer", text(order.printer)),
                Value("AlertId", text(order.alert_id)),
                Value("StateReason", text(order.state_reason)),
                Value("CreatedAt", ua.Variant(order.created_at, ua.VariantType.DateTime)),
                Value("UpdatedAt", ua.Variant(order.updated_at, ua.VariantType.DateTime)),
            ],
        )

    async def apply_part(self, part: Part) -> None:
        await self.parts.upsert(
            part.serial,
            [
                Value("SerialNumber", text(part.serial)),
                Value("OrderId", text(part.order_id)),
                Value("DesignId", text(part.design_id)),
                Value("Printer", text(part.printer)),
                Value("Verdict", text(part.verdict.value if part.verdict else "")),
                Value("CertificateStatus", text(part.certificate.value)),
                self._passport.of(part, self._now()),
            ],
        )

    async def apply_design(self, design: Design) -> None:
        """PartsProduced counts up to LimitValue, the licensed quantity.

        Modelled after LifetimeVariableType (OPC 10000-100 §5.6): StartValue 0, LimitValue.
        """
        limits = {"LimitValue": count(design.licensed_quantity), "StartValue": count(0)}
        await self.designs.upsert(
            design.id,
            [
                Value("Revision", text(design.revision)),
                Value("Name", text(design.name)),
                Value("DossierHash", text(design.dossier_hash)),
                Value("LicensedQuantity", count(design.licensed_quantity)),
                Value("PartsProduced", count(design.parts_produced), limits),
            ],
        )

    async def apply_printer(self, printer: PrinterStatus) -> None:
        """After OPC 40540 Additive Manufacturing: job state, layers, feedstock lot; the printer's
        machine object under Machines follows (``on_printer``)."""
        if self._on_printer is not None:
            await self._on_printer(printer)
        await self.printers.upsert(
            printer.id,
            [
                Value("JobState", text(printer.job_state.value)),
                Value("CurrentLayer", count(printer.current_layer)),
                Value("LayersPlanned", count(printer.layers_planned)),
                Value("MaterialLot", text(printer.material_lot)),
                Value("OrderId", text(printer.order_id)),
            ],
        )
