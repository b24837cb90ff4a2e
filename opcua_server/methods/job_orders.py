"""The ISA-95 job order receiver (OPC 10031-4 §6.2.1): job orders for print orders, the MES way."""

# An MES stores a job order naming a design (WorkMasterID[0].ID) and a quantity (the job order
# parameter "Quantity", or the quantity of a material requirement whose MaterialUse is
# "Produced"), then starts it; starting raises a print order on the same order book as
# CreatePrintOrder, and from then on the job order's state follows the print order's.

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import extensionobject_from_binary, extensionobject_to_binary

from models import MAX_ORDER_QUANTITY, Design, OrderDesk, PrintOrder, TrustfloorError
from opcua_server.methods.table import MAX_ID_LENGTH, audited_call, status_only
from opcua_server.model.namespaces import Namespaces
from opcua_server.model.nodes import NodeBuilder
from opcua_server.model.persisted import PersistedValues
from opcua_server.security.audit import AuditLog
from opcua_server.security.roles import RefusedError
from opcua_server.security.users import SiteUser

RECEIVER_TYPE = 1002
JOB_ORDER_DATA_TYPE = 3008
JOB_ORDER_AND_STATE_DATA_TYPE = 3015
WORK_MASTER_DATA_TYPE = 3007
STATUS_EVENT_TYPE = 1006
"""Numeric ids in the ISA-95 Job Control namespace (opc.ua.isa95-jobcontrol.nodeset2.xml)."""

STATE_NUMBERS = {
    "NotAllowedToStart": 1,
    "AllowedToStart": 2,
    "Running": 3,
    "Interrupted": 4,
    "Ended": 5,
    "Aborted": 6,
}
"""StateNumber of each ISA95JobOrderReceiverObjectType state (OPC 10031-4 §6.2.1)."""

NO_ERROR = 1 << 0
UNKNOWN_JOB_ORDER_ID = 1 << 1
INVALID_JOB_ORDER_STATUS = 1 << 3
UNABLE_TO_ACCEPT_JOB_ORDER = 1 << 4
INVALID_REQUEST = 1 << 32
"""ReturnStatus bits of the job order methods (OPC 10031-4 Annex B.2)."""

MAX_JOB_ORDERS = 100
"""MaxDownloadableJobOrders: job orders the receiver keeps at once (Clear makes room)."""

CLEARABLE = frozenset({"Ended", "Aborted"})
NOT_RUNNING = frozenset({"NotAllowedToStart", "AllowedToStart"})

UNSUPPORTED = {
    "Stop": "a printer cannot stop a build part-way and end it well; Abort it instead",
    "Pause": "a printer cannot pause a build (an interrupted layer spoils the part)",
    "Resume": "a printer cannot pause a build, so there is nothing to resume",
}
"""Optional receiver methods the printers cannot do: they answer Bad_NotSupported, audited."""


class JobOrderRefusedError(RefusedError):
    """A job order method refused: the client gets Uncertain and this ReturnStatus."""

    def __init__(self, return_status: int, reason: str) -> None:
        super().__init__(ua.StatusCodes.Uncertain, reason)
        self.return_status = return_status


@dataclass(frozen=True, slots=True)
class JobOrder:
    """A job order the receiver holds: what it asks for, its state, the print order it raised."""

    data: Any
    design_id: str
    quantity: int
    state: str = "NotAllowedToStart"
    order_id: str = ""

    def to_json(self) -> str:
        """The record kept on disk: the job order in its OPC UA binary encoding, and the rest."""
        encoded = extensionobject_to_binary(self.data)
        return json.dumps(
            {
                "data": base64.b64encode(encoded).decode("ascii"),
                "design_id": self.design_id,
                "quantity": self.quantity,
                "state": self.state,
                "order_id": self.order_id,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> JobOrder:
        record = json.loads(text)
        data = extensionobject_from_binary(Buffer(base64.b64decode(record["data"])))
        return cls(
            data=data,
            design_id=str(record["design_id"]),
            quantity=int(record["quantity"]),
            state=str(record["state"]),
            order_id=str(record["order_id"]),
        )


def requested_print(job_order: Any) -> tuple[str, int]:
    """(design id, quantity) a job order asks for; JobOrderRefusedError when it names neither."""
    masters = job_order.WorkMasterID or []
    design = masters[0].ID if masters and masters[0].ID else ""
    if not design.strip() or len(design) > MAX_ID_LENGTH:
        raise JobOrderRefusedError(INVALID_REQUEST, "WorkMasterID[0].ID must name a design")
    quantity = _quantity_parameter(job_order) or _produced_quantity(job_order)
    if quantity is None or not 1 <= quantity <= MAX_ORDER_QUANTITY:
        raise JobOrderRefusedError(
            INVALID_REQUEST,
            f"the job order needs a Quantity of 1..{MAX_ORDER_QUANTITY} (parameter or material)",
        )
    return design, quantity


def _quantity_parameter(job_order: Any) -> int | None:
    for parameter in job_order.JobOrderParameters or []:
        if parameter.ID == "Quantity":
            return _whole_number(parameter.Value.Value)
    return None


def consumed_lot(job_order: Any) -> str:
    """The lot of the first consumed material requirement that names one ("" when none does):
    the feedstock lot the MES asks the pieces to be printed from."""
    for material in job_order.MaterialRequirements or []:
        lot = getattr(material, "MaterialLotID", None)
        if (material.MaterialUse or "") == "Consumed" and lot and str(lot).strip():
            return str(lot).strip()
    return ""


def _produced_quantity(job_order: Any) -> int | None:
    for material in job_order.MaterialRequirements or []:
        if (material.MaterialUse or "") == "Produced" and material.Quantity:
            return _whole_number(material.Quantity)
    return None


def _whole_number(value: object) -> int | None:
    """A count from a number or a DecimalString; None when it is not a whole number."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return int(number) if number.is_finite() and number == number.to_integral_value() else None


def _job_order_id(variants: Sequence[ua.Variant]) -> str:
    """The JobOrderID argument of Start, Abort and Clear."""
    value = variants[0].Value if variants else None
    if not isinstance(value, str) or not value.strip():
        raise RefusedError(ua.StatusCodes.BadTypeMismatch, "JobOrderID must be one String")
    return value


def _job_order_argument(variants: Sequence[ua.Variant]) -> Any:
    """The JobOrder argument of Store and StoreAndStart, decoded as ISA95JobOrderDataType."""
    value = variants[0].Value if variants else None
    expected = getattr(ua, "ISA95JobOrderDataType", None)
    if expected is None or not isinstance(value, expected):
        raise RefusedError(ua.StatusCodes.BadTypeMismatch, "JobOrder must be ISA95JobOrderDataType")
    if not isinstance(value.JobOrderID, str) or not value.JobOrderID.strip():
        raise JobOrderRefusedError(INVALID_REQUEST, "JobOrderID must not be empty")
    return value


def _answer(status: int, error: Exception) -> Any:
    """Uncertain with the ReturnStatus for a job order refusal (OPC 10031-4 B.2), else status."""
    if isinstance(error, JobOrderRefusedError):
        result = ua.CallMethodResult()
        result.StatusCode = ua.StatusCode(ua.StatusCodes.Uncertain)
        result.OutputArguments = [ua.Variant(error.return_status, ua.VariantType.UInt64)]
        return result
    return status_only(status, error)


def _done() -> list[ua.Variant]:
    return [ua.Variant(NO_ERROR, ua.VariantType.UInt64)]


class JobOrderReceiver:
    """``Objects/JobOrderControl``: an ISA95JobOrderReceiverObjectType over the order desk."""

    def __init__(
        self,
        server: Server,
        namespaces: Namespaces,
        audit: AuditLog,
        *,
        orders: OrderDesk | None = None,
        on_order: Callable[[PrintOrder], Awaitable[None]] | None = None,
        persisted: PersistedValues | None = None,
    ) -> None:
        self._server = server
        self._persisted = persisted
        self._ns = namespaces
        self._audit = audit
        self._orders = orders
        self._on_order = on_order
        self._build = NodeBuilder(server, namespaces.site)
        self.node_id = ua.NodeId("JobOrderControl", namespaces.site)
        self._list_node = ua.NodeId("JobOrderControl/JobOrderList", namespaces.site)
        self._work_master_node = ua.NodeId("JobOrderControl/WorkMaster", namespaces.site)
        self._job_orders: dict[str, JobOrder] = {}
        self._work_masters: dict[str, Any] = {}
        self.method_ids: dict[str, ua.NodeId] = {}
        self._events: Any = None

    def _isa95(self, identifier: int) -> ua.NodeId:
        return ua.NodeId(identifier, self._ns.isa95)

    def _name(self, name: str) -> ua.QualifiedName:
        return ua.QualifiedName(name, self._ns.isa95)

    async def build(self) -> None:
        """The receiver object, its mandatory variables, its methods, its event generator."""
        await self._build.obj(
            self._server.nodes.objects.nodeid,
            self.node_id,
            self._name("JobOrderControl"),
            type_definition=self._isa95(RECEIVER_TYPE),
            organizes=True,
            event_notifier=ua.EventNotifier.SubscribeToEvents,
        )
        await self._add_variables()
        await self._add_methods()
        self._events = await self._server.get_event_generator(
            self._isa95(STATUS_EVENT_TYPE), self.node_id
        )
        # asyncua types fields of structures it built from a nodeset as Null; they are structures
        for name in ("JobOrder", "JobState", "JobResponse"):
            self._events.event.data_types[name] = ua.VariantType.ExtensionObject
        await self._restore()

    async def _restore(self) -> None:
        """The job orders held before a restart, as they were last kept."""
        if self._persisted is None:
            return
        for job_id, text in self._persisted.items():
            self._job_orders[job_id] = JobOrder.from_json(text)
        await self._show_list()

    async def _add_variables(self) -> None:
        await self._array(self._list_node, "JobOrderList", JOB_ORDER_AND_STATE_DATA_TYPE)
        await self._array(self._work_master_node, "WorkMaster", WORK_MASTER_DATA_TYPE)
        for name in (
            "MaterialClassID",
            "MaterialDefinitionID",
            "EquipmentID",
            "PersonnelID",
            "PhysicalAssetID",
        ):
            await self._build.variable(
                self.node_id,
                f"JobOrderControl/{name}",
                self._name(name),
                [],
                ua.VariantType.String,
            )
        await self._build.variable(
            self.node_id,
            "JobOrderControl/MaxDownloadableJobOrders",
            self._name("MaxDownloadableJobOrders"),
            MAX_JOB_ORDERS,
            ua.VariantType.UInt16,
        )

    async def _array(self, node_id: ua.NodeId, name: str, data_type: int) -> None:
        await self._build.variable(
            self.node_id,
            node_id,
            self._name(name),
            [],
            ua.VariantType.ExtensionObject,
            data_type=self._isa95(data_type),
        )

    async def _add_methods(self) -> None:
        job_order = _argument("JobOrder", self._isa95(JOB_ORDER_DATA_TYPE), "the job order")
        job_order_id = _argument(
            "JobOrderID", ua.NodeId(ua.ObjectIds.String), "ID of a stored job order"
        )
        comment = _argument(
            "Comment", ua.NodeId(ua.ObjectIds.LocalizedText), "why (optional)", array=True
        )
        status = _argument("ReturnStatus", ua.NodeId(ua.ObjectIds.UInt64), "OPC 10031-4 B.2")
        methods: dict[str, tuple[ua.Argument, Callable[..., Awaitable[list[ua.Variant]]]]] = {
            "Store": (job_order, self._store),
            "StoreAndStart": (job_order, self._store_and_start),
            "Start": (job_order_id, self._start),
            "Abort": (job_order_id, self._abort),
            "Clear": (job_order_id, self._clear),
            "Update": (job_order, self._update),
            "Cancel": (job_order_id, self._cancel),
            "RevokeStart": (job_order_id, self._revoke_start),
            **{name: (job_order_id, self._not_supported(name)) for name in UNSUPPORTED},
        }
        parent = self._server.get_node(self.node_id)
        for name, (first, handler) in methods.items():
            node = await parent.add_method(
                ua.NodeId(f"JobOrderControl/{name}", self._ns.site),
                self._name(name),
                self._serve(name, handler),
                [first, comment],
                [status],
            )
            self.method_ids[name] = node.nodeid

    def _serve(
        self, name: str, handler: Callable[[SiteUser, Sequence[ua.Variant]], Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def call(_parent: ua.NodeId, *variants: ua.Variant) -> Any:
            async def body(user: SiteUser) -> Any:
                if len(variants) > 2:
                    raise RefusedError(ua.StatusCodes.BadTooManyArguments, "expected 2 arguments")
                return await handler(user, variants)

            return await audited_call(self._audit, name, variants, body, _answer)

        return call

    async def _store(self, _user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
        await self._accept(_job_order_argument(variants))
        return _done()

    async def _store_and_start(
        self, user: SiteUser, variants: Sequence[ua.Variant]
    ) -> list[ua.Variant]:
        job_order = await self._accept(_job_order_argument(variants))
        await self._raise_print_order(job_order, user)
        return _done()

    async def _start(self, user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
        job_order = self._known(_job_order_id(variants))
        if job_order.state != "NotAllowedToStart":
            raise JobOrderRefusedError(
                INVALID_JOB_ORDER_STATUS, f"job order is {job_order.state}, not stored"
            )
        await self._raise_print_order(job_order, user)
        return _done()

    async def _abort(self, user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
        job_order = self._known(_job_order_id(variants))
        if job_order.state in CLEARABLE:
            raise JobOrderRefusedError(INVALID_JOB_ORDER_STATUS, f"job order is {job_order.state}")
        await self._end(job_order, user)
        return _done()

    async def _cancel(self, user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
        """Cancel (OPC 10031-4 §7.2.1.12): a job order not running yet ends as Aborted."""
        job_order = self._in_state(_job_order_id(variants), NOT_RUNNING)
        await self._end(job_order, user)
        return _done()

    async def _end(self, job_order: JobOrder, user: SiteUser) -> None:
        """Abort ``job_order``: its print order, if it raised one, is cancelled on the book."""
        if not job_order.order_id:
            await self._change(replace(job_order, state="Aborted"))
            return
        order = await self._cancel_print_order(job_order, user)
        await self.apply_order(order)

    async def _cancel_print_order(self, job_order: JobOrder, user: SiteUser) -> PrintOrder:
        try:
            order = await self._desk().cancel_order(job_order.order_id, str(user.name))
        except TrustfloorError as error:
            raise JobOrderRefusedError(INVALID_JOB_ORDER_STATUS, str(error)) from error
        await self._announce(order)
        return order

    async def _revoke_start(
        self, user: SiteUser, variants: Sequence[ua.Variant]
    ) -> list[ua.Variant]:
        """RevokeStart (OPC 10031-4): a started job order not printing yet is stored again; the
        print order it raised is cancelled."""
        job_order = self._in_state(_job_order_id(variants), frozenset({"AllowedToStart"}))
        stored = replace(job_order, state="NotAllowedToStart", order_id="")
        job_id = job_order.data.JobOrderID
        self._job_orders[job_id] = stored  # the cancelled print order no longer moves it
        try:
            await self._cancel_print_order(job_order, user)
        except JobOrderRefusedError:
            self._job_orders[job_id] = job_order
            raise
        await self._change(stored)
        return _done()

    async def _update(self, _user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
        """Update (OPC 10031-4): a stored job order not started yet takes the new definition."""
        data = _job_order_argument(variants)
        self._in_state(data.JobOrderID, frozenset({"NotAllowedToStart"}))
        design, quantity = requested_print(data)
        await self._change(JobOrder(data=data, design_id=design, quantity=quantity))
        return _done()

    def _not_supported(
        self, name: str
    ) -> Callable[[SiteUser, Sequence[ua.Variant]], Awaitable[list[ua.Variant]]]:
        async def refuse(_user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
            job_id = _job_order_id(variants)
            raise RefusedError(
                ua.StatusCodes.BadNotSupported, f"{name} {job_id}: {UNSUPPORTED[name]}"
            )

        return refuse

    async def _clear(self, _user: SiteUser, variants: Sequence[ua.Variant]) -> list[ua.Variant]:
        job_order = self._known(_job_order_id(variants))
        if job_order.state not in CLEARABLE:
            raise JobOrderRefusedError(
                INVALID_JOB_ORDER_STATUS, f"job order is {job_order.state}, not ended or aborted"
            )
        del self._job_orders[job_order.data.JobOrderID]
        if self._persisted is not None:
            self._persisted.delete(job_order.data.JobOrderID)
        await self._show_list()
        return _done()

    async def _accept(self, data: Any) -> JobOrder:
        """Keep a new job order as NotAllowedToStart after checking what it asks for."""
        design, quantity = requested_print(data)
        if data.JobOrderID in self._job_orders:
            raise JobOrderRefusedError(
                UNABLE_TO_ACCEPT_JOB_ORDER, f"job order {data.JobOrderID} is already stored"
            )
        if len(self._job_orders) >= MAX_JOB_ORDERS:
            raise JobOrderRefusedError(
                UNABLE_TO_ACCEPT_JOB_ORDER, f"{MAX_JOB_ORDERS} job orders held: clear ended ones"
            )
        job_order = JobOrder(data=data, design_id=design, quantity=quantity)
        await self._change(job_order)
        return job_order

    async def _raise_print_order(self, job_order: JobOrder, user: SiteUser) -> None:
        """Start: a print order on the order book; a refusal there leaves the job order stored."""
        job_id = job_order.data.JobOrderID
        try:
            order = await self._desk().create_order(
                job_order.design_id,
                job_order.quantity,
                f"ISA-95 job order {job_id}",
                user.name,
                material_lot=consumed_lot(job_order.data),
            )
        except TrustfloorError as error:
            raise JobOrderRefusedError(UNABLE_TO_ACCEPT_JOB_ORDER, str(error)) from error
        await self._change(replace(job_order, order_id=order.id, state=order.state.isa95))
        await self._announce(order)

    def _known(self, job_id: str) -> JobOrder:
        job_order = self._job_orders.get(job_id)
        if job_order is None:
            raise JobOrderRefusedError(UNKNOWN_JOB_ORDER_ID, f"no job order {job_id}")
        return job_order

    def _in_state(self, job_id: str, states: frozenset[str]) -> JobOrder:
        """The job order ``job_id`` when it is in one of ``states``; refused otherwise."""
        job_order = self._known(job_id)
        if job_order.state not in states:
            raise JobOrderRefusedError(
                INVALID_JOB_ORDER_STATUS,
                f"job order {job_id} is {job_order.state}, not {' or '.join(sorted(states))}",
            )
        return job_order

    def _desk(self) -> OrderDesk:
        if self._orders is None:
            raise JobOrderRefusedError(UNABLE_TO_ACCEPT_JOB_ORDER, "no order book on this site")
        return self._orders

    async def _announce(self, order: PrintOrder) -> None:
        if self._on_order is not None:
            await self._on_order(order)

    async def apply_order(self, order: PrintOrder) -> None:
        """A print order changed: the job order that raised it takes its ISA-95 state."""
        for job_order in list(self._job_orders.values()):
            if job_order.order_id == order.id and job_order.state != order.state.isa95:
                await self._change(replace(job_order, state=order.state.isa95))

    async def apply_design(self, design: Design) -> None:
        """WorkMaster lists the designs a job order may name (ISA95WorkMasterDataType)."""
        work_master = ua.ISA95WorkMasterDataType(
            ID=design.id, Description=ua.LocalizedText(design.name or design.id)
        )
        self._work_masters[design.id] = work_master
        await self._server.write_attribute_value(
            self._work_master_node,
            ua.DataValue(
                ua.Variant(list(self._work_masters.values()), ua.VariantType.ExtensionObject)
            ),
        )

    async def _change(self, job_order: JobOrder) -> None:
        """Keep the job order (on disk before the call returns), show the list, and send an
        ISA95JobOrderStatusEventType event."""
        self._job_orders[job_order.data.JobOrderID] = job_order
        if self._persisted is not None:
            self._persisted.set(job_order.data.JobOrderID, job_order.to_json())
        await self._show_list()
        await self._emit(job_order)

    def _state_value(self, state: str) -> list[Any]:
        return [
            ua.ISA95StateDataType(
                BrowsePath=ua.RelativePath(),
                StateText=ua.LocalizedText(state),
                StateNumber=STATE_NUMBERS[state],
            )
        ]

    async def _show_list(self) -> None:
        entries = [
            ua.ISA95JobOrderAndStateDataType(
                JobOrder=job_order.data, State=self._state_value(job_order.state)
            )
            for job_order in self._job_orders.values()
        ]
        await self._server.write_attribute_value(
            self._list_node, ua.DataValue(ua.Variant(entries, ua.VariantType.ExtensionObject))
        )

    async def _emit(self, job_order: JobOrder) -> None:
        event = self._events.event
        event.JobOrder = job_order.data
        event.JobState = self._state_value(job_order.state)
        event.SourceName = "JobOrderControl"
        printing = f", print order {job_order.order_id}" if job_order.order_id else ""
        await self._events.trigger(
            message=f"job order {job_order.data.JobOrderID}: {job_order.quantity} x "
            f"{job_order.design_id}, {job_order.state}{printing}"
        )

    def job_orders(self) -> list[JobOrder]:
        """The job orders held now, in the order they were stored."""
        return list(self._job_orders.values())


def _argument(name: str, data_type: ua.NodeId, description: str, *, array: bool = False) -> Any:
    argument = ua.Argument()
    argument.Name = name
    argument.DataType = data_type
    argument.ValueRank = 1 if array else -1
    if array:
        argument.ArrayDimensions = [0]
    argument.Description = ua.LocalizedText(description)
    return argument
