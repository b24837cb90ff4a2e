"""What the web console reads and changes: the site's services behind small protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from config import Role
from models import Alert, CertificateDesk, HealthScore, OrderBook, PrinterStatus
from opcua_server.security.audit import AuditLog


@dataclass(frozen=True, slots=True)
class AlertView:
    """An open alert with its OPC UA condition's acknowledged and confirmed states."""

    alert: Alert
    acked: bool
    confirmed: bool
    comment: str = ""


class AlertBoard(Protocol):
    """The alerts as planners handle them; a change here is the OPC UA condition's change."""

    async def alerts(self) -> Sequence[AlertView]: ...

    async def acknowledge(self, alert_id: str, comment: str, user: str) -> AlertView:
        """OPC 10000-9 §5.7.3 Acknowledge of the alert's condition, with the user's comment."""
        ...

    async def confirm(self, alert_id: str, comment: str, user: str) -> AlertView:
        """OPC 10000-9 §5.7.4 Confirm of the alert's condition."""
        ...


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a chart."""

    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Window:
    """A process parameter's allowed range."""

    low: float
    high: float
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """A part's process data as recorded while it printed, with each parameter's window."""

    series: Mapping[str, Sequence[Point]] = field(default_factory=dict)
    windows: Mapping[str, Window] = field(default_factory=dict)


class Floor(Protocol):
    """The shop floor as the planner's board shows it."""

    def health(self) -> Sequence[HealthScore]:
        """The latest health score of each scored machine."""
        ...

    async def trend(self, machine: str, signal: str) -> Sequence[Point]:
        """Recent readings of ``machine``'s tag ``signal`` (the last hour)."""
        ...

    def printers(self) -> Sequence[PrinterStatus]: ...


class PartsRegister(Protocol):
    """The parts this site printed, found through the ledger's services."""

    async def serials(self, limit: int) -> Sequence[str]:
        """Serials of printed parts, newest first."""
        ...

    async def evidence(self, serial: str) -> Evidence:
        """The part's recorded process data; empty when the site no longer has it."""
        ...


@dataclass(frozen=True, slots=True)
class RecallView:
    """A recall campaign as the console lists it, with each affected part's closure."""

    id: str
    reason: str
    disposition: str
    action: str
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None
    parts: Sequence[tuple[str, str]]
    """(serial, closure) of each affected part; closure "" while the part is open."""
    held_orders: Sequence[str] = ()
    """The open print orders the campaign held when it opened."""

    @property
    def closed_parts(self) -> int:
        return sum(1 for _, closure in self.parts if closure)


@dataclass(frozen=True, slots=True)
class StatementView:
    """A usage and billing statement the site issued, as the console lists it."""

    period: str
    design: str
    billable: int
    failed: int
    revoked: int
    amount: str
    countersigned: bool


class AfterSalesBoard(Protocol):
    """The site's recall campaigns and billing statements, read-only."""

    async def recalls(self) -> Sequence[RecallView]: ...

    async def statements(self) -> Sequence[StatementView]: ...


class Tracer(Protocol):
    """Trace queries, answered as the OPC UA ``Trace`` method answers them."""

    async def trace_json(self, criteria_json: str) -> str:
        """The trace of the criteria (JSON object) as JSON: parts and the open orders."""
        ...


class StatusLists(Protocol):
    """The site's signed status lists (W3C Bitstring Status List) its credentials point to."""

    async def status_list(self, purpose: str) -> bytes:
        """The compact JWS of the ``revocation`` or ``suspension`` list, as it stands now."""
        ...


class LoginChecker(Protocol):
    """The one user store of the site (OPC UA's): throttled, audited password checks."""

    async def login(self, username: str, password: str, peer: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class ConsoleServices:
    """Everything the console calls into; each service may be absent on a small site."""

    audit: AuditLog
    users: LoginChecker
    roles: Mapping[str, Role]
    orders: OrderBook | None = None
    certificates: CertificateDesk | None = None
    alerts: AlertBoard | None = None
    floor: Floor | None = None
    parts: PartsRegister | None = None
    status_lists: StatusLists | None = None
    tracer: Tracer | None = None
    after_sales: AfterSalesBoard | None = None
    print_hours: Mapping[str, float] = field(default_factory=dict)
    """Hours to print and certify an order of each catalogued design (the planner's figure)."""
