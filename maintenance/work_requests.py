"""Work requests: what an alert becomes in the plant's CMMS, its status and its coded closure."""

# The shape is the work-order shape CMMS tools share (title, description, priority, asset, due
# date, category, status); maintenance/schemas/work_request.schema.json is its JSON Schema,
# generated from these records (`trustfloor maintenance schema`). Status moves
# OPEN → IN_PROGRESS ⇄ ON_HOLD → COMPLETED → CLOSED; a closure (ISO 14224 failure mode,
# mechanism and cause, the real failure or repair time, the fitted part's serial) completes and
# closes it at once from any open status. Pure: no I/O.

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from maintenance.alert_records import rul_band
from maintenance.errors import MaintenanceError
from maintenance.iso14224 import FAILURE_CAUSES, FAILURE_MECHANISMS, FAILURE_MODES, code_problem
from models import Alert, Frozen, HealthState, InvalidStateError


class WorkRequestStatus(StrEnum):
    """The status CMMS tools share."""

    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    ON_HOLD = "ON_HOLD"
    COMPLETED = "COMPLETED"
    CLOSED = "CLOSED"


NEXT: dict[WorkRequestStatus, frozenset[WorkRequestStatus]] = {
    WorkRequestStatus.OPEN: frozenset({WorkRequestStatus.IN_PROGRESS, WorkRequestStatus.ON_HOLD}),
    WorkRequestStatus.IN_PROGRESS: frozenset(
        {WorkRequestStatus.ON_HOLD, WorkRequestStatus.COMPLETED}
    ),
    WorkRequestStatus.ON_HOLD: frozenset({WorkRequestStatus.IN_PROGRESS}),
    WorkRequestStatus.COMPLETED: frozenset({WorkRequestStatus.CLOSED}),
    WorkRequestStatus.CLOSED: frozenset(),
}
"""Allowed status changes (a closure goes from any open status to CLOSED)."""


class Priority(StrEnum):
    """How urgent the work is."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class WorkRequestError(MaintenanceError):
    """A work request cannot be found, changed that way, or closed with those codes."""

    advice = (
        "list work requests with `trustfloor maintenance list`; codes: ISO 14224 Tables B.2/B.3"
    )


class WorkRequestStateError(WorkRequestError, InvalidStateError):
    """The work request's status does not allow the change asked for."""


class SparePartOrder(Frozen):
    """The print order raised for the alert's spare part."""

    order_id: str
    design_id: str


class Closure(Frozen):
    """What the technician found: ISO 14224 codes, when it failed or was repaired, the part."""

    failure_mode: str = Field(
        description="ISO 14224 Tables B.6-B.8, e.g. VIB, BRD, OHE",
        json_schema_extra={"enum": list(FAILURE_MODES)},
    )
    failure_mechanism: str = Field(
        description="ISO 14224 Table B.2, e.g. 2.4 (wear)",
        json_schema_extra={"enum": list(FAILURE_MECHANISMS)},
    )
    failure_cause: str = Field(
        description="ISO 14224 Table B.3, e.g. 3.4 (expected wear and tear)",
        json_schema_extra={"enum": list(FAILURE_CAUSES)},
    )
    failed_at: AwareDatetime | None = Field(None, description="when it failed (it did)")
    repaired_at: AwareDatetime | None = Field(
        None, description="when the part was fitted (before a failure, or after it)"
    )
    part_serial: str = Field("", description="serial of the part fitted (its certificate)")
    closed_by: str = ""
    notes: str = ""

    @model_validator(mode="after")
    def _codes_known(self) -> Closure:
        problems = [
            p
            for p in (
                code_problem(FAILURE_MODES, self.failure_mode, "failure mode"),
                code_problem(FAILURE_MECHANISMS, self.failure_mechanism, "failure mechanism"),
                code_problem(FAILURE_CAUSES, self.failure_cause, "failure cause"),
            )
            if p
        ]
        if self.failed_at is None and self.repaired_at is None:
            problems.append("give the failure time, the repair time, or both")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def label_at(self) -> datetime:
        """The end of the run this closure labels: the failure, else the repair."""
        when = self.failed_at or self.repaired_at
        assert when is not None  # checked on construction
        return when


class WorkRequest(Frozen):
    """One maintenance work request, as it is sent to the CMMS."""

    id: str = Field(pattern=r"^WR-\d{6}$", description="WR- and the alert's number")
    alert_id: str
    title: str
    description: str = Field(description="what is wrong: RUL band, top signals, the part")
    priority: Priority
    asset: str = Field(description="the machine")
    component: str
    category: str = Field("predictive", description="predictive maintenance work")
    due_date: AwareDatetime = Field(description="when the part is expected to fail (RUL low)")
    status: WorkRequestStatus = WorkRequestStatus.OPEN
    spare_part_order: SparePartOrder | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
    revision: int = Field(1, ge=1, description="+1 on every change the CMMS is told of")
    closure: Closure | None = None


def work_request_id(alert_id: str) -> str:
    """``WR-000123`` for alert ``AL-000123``: one work request per alert."""
    return "WR-" + alert_id.partition("-")[2]


def _description(alert: Alert) -> str:
    signals = ", ".join(alert.top_contributors) or "no single signal"
    lines = [
        alert.summary,
        f"RUL band: {rul_band(alert.rul_low, alert.rul_high)} h.",
        f"Top signals: {signals}.",
    ]
    if alert.design_id:
        lead = alert.lead_time_h or 0.0
        lines.append(f"Spare part: {alert.design_id} (lead time {lead:.0f} h).")
    return "\n".join(lines)


def _due(alert: Alert) -> datetime:
    """The RUL band's lower edge from the raise; the raise itself when no RUL is known."""
    return alert.raised_at + timedelta(hours=alert.rul_low or 0.0)


def _order(alert: Alert) -> SparePartOrder | None:
    return (
        SparePartOrder(order_id=alert.order_id, design_id=alert.design_id)
        if alert.order_id
        else None
    )


def from_alert(alert: Alert, now: datetime) -> WorkRequest:
    """The work request an alert opens."""
    urgent = alert.level is HealthState.ALARM
    return WorkRequest(
        id=work_request_id(alert.id),
        alert_id=alert.id,
        title=f"{alert.component.replace('_', ' ').capitalize()} of {alert.machine}",
        description=_description(alert),
        priority=Priority.HIGH if urgent else Priority.MEDIUM,
        asset=alert.machine,
        component=alert.component,
        due_date=_due(alert),
        spare_part_order=_order(alert),
        created_at=now,
        updated_at=now,
    )


def refreshed(request: WorkRequest, alert: Alert, now: datetime) -> WorkRequest:
    """The request after its alert changed (escalated, its part ordered); None-safe on status."""
    fresh = from_alert(alert, now)
    return request.model_copy(
        update={
            "description": fresh.description,
            "priority": fresh.priority,
            "due_date": fresh.due_date,
            "spare_part_order": fresh.spare_part_order or request.spare_part_order,
            "updated_at": now,
            "revision": request.revision + 1,
        }
    )


def moved(request: WorkRequest, status: WorkRequestStatus, now: datetime) -> WorkRequest:
    """The request in ``status``; WorkRequestStateError when its status does not allow it."""
    if status is request.status:
        return request
    if status not in NEXT[request.status]:
        raise WorkRequestStateError(
            f"work request {request.id} is {request.status.value}: it cannot become "
            f"{status.value} (next: {', '.join(s.value for s in NEXT[request.status]) or 'none'})"
        )
    return request.model_copy(
        update={"status": status, "updated_at": now, "revision": request.revision + 1}
    )


def closed(request: WorkRequest, closure: Closure, now: datetime) -> WorkRequest:
    """The request closed with what the technician found (from any open status)."""
    if request.status is WorkRequestStatus.CLOSED:
        if request.closure == closure:
            return request
        raise WorkRequestStateError(f"work request {request.id} is already closed")
    return request.model_copy(
        update={
            "status": WorkRequestStatus.CLOSED,
            "closure": closure,
            "updated_at": now,
            "revision": request.revision + 1,
        }
    )


SCHEMA_ID = "https://trustfloor.example/schemas/work_request.schema.json"


def work_request_schema() -> dict[str, object]:
    """The JSON Schema (2020-12) of a work request, as maintenance/schemas/ ships it."""
    schema = WorkRequest.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }
