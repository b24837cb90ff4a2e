"""Print orders, designs, parts and printers as the server and the MES see them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.machines import Frozen, Identifier
from models.parts import MaterialLotSource, Verdict

MAX_ORDER_QUANTITY = 10_000
"""Most pieces one print order may ask for; the order book, its file and the server use this."""


class OrderState(StrEnum):
    """Lifecycle of a print order."""

    CREATED = "created"
    DISPATCHED = "dispatched"
    PRINTING = "printing"
    PRINTED = "printed"
    CERTIFIED = "certified"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    HELD = "held"
    """Stopped before printing while a question about what it would make is open (a recall);
    released to the state it had, or cancelled."""

    @property
    def isa95(self) -> str:
        """ISA-95 job order state name (OPC 10031-4 ISA95JobOrderStateMachineType)."""
        return _ISA95_STATES[self]

    @property
    def is_open(self) -> bool:
        """Whether the order may still be cancelled."""
        return self in HOLDABLE_STATES or self is OrderState.HELD


HOLDABLE_STATES = frozenset({OrderState.CREATED, OrderState.DISPATCHED})
"""States an order may be held from (and is released back to): it has not started printing."""


_ISA95_STATES = {
    OrderState.CREATED: "AllowedToStart",
    OrderState.DISPATCHED: "AllowedToStart",
    OrderState.PRINTING: "Running",
    OrderState.PRINTED: "Ended",
    OrderState.CERTIFIED: "Ended",
    OrderState.REJECTED: "Ended",
    OrderState.CANCELLED: "Aborted",
    OrderState.HELD: "Interrupted",
}
"""A held order is Interrupted, the OPC 10031-4 state whose substates are Held and Suspended:
not NotAllowedToStart, where the MES may Start or Update the job order again (a second print
order); Abort still cancels it, Resume is refused like every pause."""

NEXT_STATES: dict[OrderState, frozenset[OrderState]] = {
    OrderState.CREATED: frozenset(
        {OrderState.DISPATCHED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.HELD}
    ),
    OrderState.DISPATCHED: frozenset(
        {OrderState.PRINTING, OrderState.CANCELLED, OrderState.REJECTED, OrderState.HELD}
    ),
    OrderState.HELD: frozenset({OrderState.CREATED, OrderState.DISPATCHED, OrderState.CANCELLED}),
    OrderState.PRINTING: frozenset({OrderState.PRINTED, OrderState.REJECTED}),
    OrderState.PRINTED: frozenset({OrderState.CERTIFIED, OrderState.REJECTED}),
}
"""ISA-95 job order life (OPC 10031-4): created → dispatched → printing → printed → certified or
rejected; cancelled only while created, dispatched or held (by a person); rejected before
printing when the printer agent refuses it (dossier, licence), while printing when a build fails.
Held (a recall) only while created or dispatched, and released back to the state it had
(the order book knows which) or cancelled."""


class PrintOrder(Frozen):
    """A request to print ``quantity`` pieces of a design (an ISA-95 job order)."""

    id: str
    design_id: str
    design_revision: str = "A"
    quantity: int = Field(ge=1, le=MAX_ORDER_QUANTITY)
    reason: str = ""
    requested_by: str = ""
    state: OrderState = OrderState.CREATED
    printer: str = ""
    created_at: datetime
    updated_at: datetime
    alert_id: str = ""
    state_reason: str = ""
    """Why a rejected or cancelled order ended so: the printer agent's refusal, failed pieces."""
    material_lot: str = ""
    """The feedstock lot the MES asks the pieces to be printed from ("" when it names none)."""


class CertificateStatus(StrEnum):
    """Where a part's certificate stands."""

    NONE = "none"
    """Not issued yet: the part is printing or waits for its certificate."""
    ISSUED = "issued"
    """Signed, waiting for its batch to be anchored."""
    ANCHORED = "anchored"
    SUSPENDED = "suspended"
    """Held while a question about the part is open (a recall); it may be reinstated."""
    REVOKED = "revoked"
    REFUSED = "refused"
    """Never issued: the printer reported another job or dossier than the one dispatched."""


class Part(Frozen):
    """One printed piece with its certificate's status and verdict."""

    serial: str
    order_id: str
    design_id: str
    printer: str
    verdict: Verdict | None = None
    """What the part's evidence decided; None while it is printing."""
    certificate: CertificateStatus = CertificateStatus.NONE
    material_lot: str = ""
    material_lot_source: MaterialLotSource = MaterialLotSource.UNKNOWN
    reason: str = ""
    """Why the part was refused or scrapped, when it was."""


class Design(Frozen):
    """A registered spare-part design and its licence counter."""

    id: Identifier
    revision: str = "A"
    name: str = ""
    dossier_hash: str = ""
    licensed_quantity: int = Field(0, ge=0)
    parts_produced: int = Field(0, ge=0)


class PrinterJobState(StrEnum):
    """Where a printer's job stands (a flattened ISA-95 job state, OPC 10031-4)."""

    IDLE = "Idle"
    PRINTING = "Printing"
    COMPLETED = "Completed"
    ABORTED = "Aborted"


class PrinterStatus(Frozen):
    """What a printer reports (after OPC 40540 Additive Manufacturing)."""

    id: Identifier
    job_state: PrinterJobState = PrinterJobState.IDLE
    current_layer: int = 0
    layers_planned: int = 0
    material_lot: str = ""
    order_id: str = ""
    job_id: str = ""
    """The job the printer says it holds or prints ("" when none)."""
    dossier_sha256: str = ""
    """The dossier the printer says it builds, as it reports it ("" when it does not say)."""
    alarms: tuple[str, ...] = ()
    """The printer's active alarms, in its own words."""
    reason: str = ""
    """Why the last job stopped or was refused, in the printer's words."""
    hours_since_maintenance: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Operating hours since the printer's last maintenance, when it reports them."""
