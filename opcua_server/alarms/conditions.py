"""The alarm condition state machine (OPC 10000-9): active, acknowledged, confirmed; pure."""

# No asyncua and no event loop here: a condition's state is a frozen record and each transition
# a function of the old state, the request and the time. The asyncua glue (events, nodes,
# method calls) lives in opcua_server.alarms.manager and opcua_server.alarms.fields.

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from opcua_server.alarms.maintenance import PlannedMaintenance, replanned
from opcua_server.errors import ServerError

BAD_EVENT_ID_UNKNOWN = 0x809A0000
"""OPC 10000-4 §7.38 Bad_EventIdUnknown: the EventId is not the condition's latest."""
BAD_CONDITION_BRANCH_ALREADY_ACKED = 0x80CF0000
"""OPC 10000-4 §7.38 Bad_ConditionBranchAlreadyAcked."""
BAD_CONDITION_BRANCH_ALREADY_CONFIRMED = 0x80D00000
"""OPC 10000-4 §7.38 Bad_ConditionBranchAlreadyConfirmed."""


class NodeRef(Hashable, Protocol):
    """A node's identity as the state machine needs it: hashable, with a printable form."""

    def to_string(self) -> str: ...


class AlarmError(ServerError):
    """An alarm could not be raised, cleared or changed."""


class ConditionMethodError(AlarmError):
    """A condition method (Acknowledge, Confirm, ConditionRefresh) refused with ``status``."""

    def __init__(self, status: int, message: str, *, advice: str = "") -> None:
        super().__init__(message, advice=advice)
        self.status = status


@dataclass(frozen=True, slots=True)
class AlertInfo:
    """What the alert policy hands over: one maintenance alert of one machine component."""

    machine: str
    component: str
    severity: int
    """OPC 10000-5 §6.4.2 Severity: 1 (least) to 1000 (most urgent)."""
    message: str
    source_node: NodeRef
    """The machine's node: the alarm's SourceNode."""
    source_name: str
    time: datetime | None = None
    """When the alert policy raised it (the event's Time); the clock's now when None."""
    maintenance: PlannedMaintenance | None = None
    """The maintenance the alert asks for (OPC 10000-110 IMaintenanceEventType fields)."""

    def __post_init__(self) -> None:
        if not 1 <= self.severity <= 1000:
            raise AlarmError(
                f"alert {self.machine}/{self.component}: severity {self.severity} not in 1..1000",
                advice="map the alert policy's levels onto OPC UA severities 1..1000",
            )
        if not self.machine or not self.component:
            raise AlarmError("an alert needs a machine and a component")


@dataclass(frozen=True, slots=True)
class ConditionState:
    """The state of one alarm condition after its last event (one branch, no shelving)."""

    condition_id: NodeRef
    machine: str
    component: str
    source_node: NodeRef
    source_name: str
    severity: int
    last_severity: int
    message: str
    active: bool
    acked: bool
    confirmed: bool
    event_id: bytes
    time: datetime
    receive_time: datetime
    active_since: datetime
    acked_at: datetime | None = None
    confirmed_at: datetime | None = None
    comment: str = ""
    client_user: str = ""
    maintenance: PlannedMaintenance | None = None

    @property
    def retain(self) -> bool:
        """OPC 10000-9 §5.5.2: interesting while active, unacknowledged or unconfirmed."""
        return self.active or not self.acked or not self.confirmed


def activated(
    previous: ConditionState | None,
    alert: AlertInfo,
    condition_id: NodeRef,
    now: datetime,
    event_id: bytes,
) -> ConditionState:
    """The state after ``alert`` was raised: active; a new occurrence needs a new acknowledgement.

    Following OPC 10000-9 Annex B, an occurrence starts unacknowledged and confirmed; Acknowledge
    makes it unconfirmed until Confirm. A raise on an active condition only updates severity,
    message and the maintenance's plan (where the work stands is kept).
    """
    time = alert.time or now
    if previous is not None and previous.active:
        return replace(
            previous,
            severity=alert.severity,
            last_severity=previous.severity,
            message=alert.message,
            event_id=event_id,
            time=time,
            receive_time=now,
            maintenance=replanned(previous.maintenance, alert.maintenance),
        )
    return ConditionState(
        condition_id=condition_id,
        machine=alert.machine,
        component=alert.component,
        source_node=alert.source_node,
        source_name=alert.source_name,
        severity=alert.severity,
        last_severity=previous.severity if previous else alert.severity,
        message=alert.message,
        active=True,
        acked=False,
        confirmed=True,
        event_id=event_id,
        time=time,
        receive_time=now,
        active_since=time,
        maintenance=alert.maintenance,
    )


def maintenance_changed(
    state: ConditionState, maintenance: PlannedMaintenance, now: datetime, event_id: bytes
) -> ConditionState:
    """The state after the maintenance it asks for moved on (planned, started, finished).

    Active, acknowledged and confirmed stay as they were; the change is a new event of the
    condition (OPC 10000-9 §4.10: every change of a condition's fields is an event).
    """
    return replace(
        state,
        maintenance=maintenance,
        event_id=event_id,
        time=now,
        receive_time=now,
        last_severity=state.severity,
    )


def deactivated(
    state: ConditionState, message: str | None, now: datetime, event_id: bytes
) -> ConditionState:
    """The state after the alert cleared; it stays retained until acknowledged and confirmed."""
    return replace(
        state,
        active=False,
        message=message or f"{state.message} (cleared)",
        event_id=event_id,
        time=now,
        receive_time=now,
        active_since=now,
        last_severity=state.severity,
    )


@dataclass(frozen=True, slots=True)
class ClientCall:
    """A client's Acknowledge or Confirm of a condition, as the state machine takes it."""

    event_id: bytes
    """The EventId the client answers: it must be the condition's latest."""
    comment: str
    user: str | None
    at: datetime
    new_event_id: bytes
    """The EventId of the event the call causes."""


def _check_event_id(state: ConditionState, event_id: bytes) -> None:
    if event_id != state.event_id:
        raise ConditionMethodError(
            BAD_EVENT_ID_UNKNOWN,
            f"{state.condition_id.to_string()}: EventId is not the condition's latest",
            advice="refresh the alarm list (ConditionRefresh) and use the newest EventId",
        )


def acknowledged(state: ConditionState, call: ClientCall) -> ConditionState:
    """OPC 10000-9 §5.7.3 Acknowledge: AckedState true, ConfirmedState false, comment kept."""
    _check_event_id(state, call.event_id)
    if state.acked:
        raise ConditionMethodError(
            BAD_CONDITION_BRANCH_ALREADY_ACKED,
            f"{state.condition_id.to_string()} is already acknowledged",
        )
    return _answered(replace(state, acked=True, confirmed=False, acked_at=call.at), call)


def confirmed(state: ConditionState, call: ClientCall) -> ConditionState:
    """OPC 10000-9 §5.7.4 Confirm: ConfirmedState true (an unacknowledged alarm is confirmed)."""
    _check_event_id(state, call.event_id)
    if state.confirmed:
        raise ConditionMethodError(
            BAD_CONDITION_BRANCH_ALREADY_CONFIRMED,
            f"{state.condition_id.to_string()} is already confirmed (or not yet acknowledged)",
            advice="acknowledge the alarm first, then confirm it",
        )
    return _answered(replace(state, confirmed=True, confirmed_at=call.at), call)


def _answered(state: ConditionState, call: ClientCall) -> ConditionState:
    """What every client call on a condition changes: its comment and user, a new event."""
    return replace(
        state,
        comment=call.comment,
        client_user=call.user or "",
        event_id=call.new_event_id,
        time=call.at,
        receive_time=call.at,
        last_severity=state.severity,
    )
