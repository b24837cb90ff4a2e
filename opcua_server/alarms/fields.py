"""Alarm and site events as OPC UA event fields (OPC 10000-5, 10000-9), and back to a state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from asyncua import ua

from opcua_server.alarms.conditions import ConditionState
from opcua_server.alarms.maintenance import (
    MaintenanceMethod,
    MaintenanceStage,
    PlannedMaintenance,
    ReplacedPart,
)
from opcua_server.history.events import SERVER, EventFields
from opcua_server.model.amb import maintenance_state_id, name_node_id

MAINTENANCE_REQUIRED_ALARM_TYPE = 15739
"""DI MaintenanceRequiredAlarmType (OPC 10000-100 §4.12.6), numeric id in the DI namespace
(Opc.Ua.Di.NodeSet2.xml 1.05): OffNormalAlarmType > InstrumentDiagnosticAlarmType >
DeviceHealthDiagnosticAlarmType > MaintenanceRequiredAlarmType, with no fields of its own."""
MAINTENANCE_CLASS = ua.NodeId(ua.ObjectIds.MaintenanceConditionClassType)
SITE_EVENT_FIELDS = ("Kind", "Subject", "State")
"""Properties of TrustfloorEventType (our namespace), inherited by the order and certificate
types."""


def new_event_id() -> bytes:
    """A fresh EventId (OPC 10000-5 §6.4.2: unique for every event notification)."""
    return uuid.uuid4().bytes


def condition_node_id(namespace: int, machine: str, component: str) -> ua.NodeId:
    """ConditionId of a (machine, component) alarm: ``ns=<site>;s=Alarms/<machine>/<component>``."""
    return ua.NodeId(f"Alarms/{machine}/{component}", namespace)


def _text(value: str) -> ua.Variant:
    return ua.Variant(ua.LocalizedText(value), ua.VariantType.LocalizedText)


def _when(value: datetime) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.DateTime)


def _flag(value: bool) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.Boolean)


def _node(value: ua.NodeId) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.NodeId)


def _two_state(
    name: str, value: bool, texts: tuple[str, str], since: datetime | None
) -> EventFields:
    """A TwoStateVariableType field with its Id (OPC 10000-9 Annex A state names)."""
    fields = {name: _text(texts[0] if value else texts[1]), f"{name}/Id": _flag(value)}
    if since is not None:
        fields[f"{name}/TransitionTime"] = _when(since)
    return fields


def base_event_fields(
    event_type: ua.NodeId,
    event_id: bytes,
    source: tuple[ua.NodeId, str],
    times: tuple[datetime, datetime],
    message: str,
    severity: int,
) -> EventFields:
    """The BaseEventType fields every event carries (OPC 10000-5 §6.4.2)."""
    return {
        "EventId": ua.Variant(event_id, ua.VariantType.ByteString),
        "EventType": _node(event_type),
        "SourceNode": _node(source[0]),
        "SourceName": ua.Variant(source[1], ua.VariantType.String),
        "Time": _when(times[0]),
        "ReceiveTime": _when(times[1]),
        "Message": _text(message),
        "Severity": ua.Variant(severity, ua.VariantType.UInt16),
    }


def maintenance_alarm_type(di_namespace: int) -> ua.NodeId:
    """The NodeId of DI MaintenanceRequiredAlarmType, DI being namespace ``di_namespace``."""
    return ua.NodeId(MAINTENANCE_REQUIRED_ALARM_TYPE, di_namespace)


def condition_fields(
    state: ConditionState, alarm_type: ua.NodeId, amb: int | None = None
) -> EventFields:
    """The event of ``state`` as an ``alarm_type`` (an OffNormalAlarmType) condition
    (OPC 10000-9 §5.5.2, §5.7.2, §5.8.2, §5.8.23); with its planned maintenance as
    IMaintenanceEventType fields when ``amb``, the AMB namespace, is given."""
    fields = base_event_fields(
        alarm_type,
        state.event_id,
        (state.source_node, state.source_name),
        (state.time, state.receive_time),
        state.message,
        state.severity,
    )
    fields |= {
        "NodeId": _node(state.condition_id),
        "ConditionClassId": _node(MAINTENANCE_CLASS),
        "ConditionClassName": _text("Maintenance"),
        "ConditionName": ua.Variant(state.component, ua.VariantType.String),
        "BranchId": _node(ua.NodeId()),
        "Retain": _flag(state.retain),
        "Quality": ua.Variant(ua.StatusCode(ua.StatusCodes.Good), ua.VariantType.StatusCode),
        "LastSeverity": ua.Variant(state.last_severity, ua.VariantType.UInt16),
        "Comment": _text(state.comment),
        "ClientUserId": ua.Variant(state.client_user, ua.VariantType.String),
        "InputNode": _node(ua.NodeId()),
        "NormalState": _node(ua.NodeId()),
        "SuppressedOrShelved": _flag(False),
    }
    fields |= _two_state("EnabledState", True, ("Enabled", "Disabled"), None)
    fields |= _two_state("ActiveState", state.active, ("Active", "Inactive"), state.active_since)
    fields |= _two_state(
        "AckedState", state.acked, ("Acknowledged", "Unacknowledged"), state.acked_at
    )
    fields |= _two_state(
        "ConfirmedState", state.confirmed, ("Confirmed", "Unconfirmed"), state.confirmed_at
    )
    if amb is not None and state.maintenance is not None:
        fields |= maintenance_fields(state.maintenance, amb)
    return fields


def maintenance_fields(plan: PlannedMaintenance, amb: int) -> EventFields:
    """IMaintenanceEventType's fields (OPC 10000-110 §12.2) of what the site knows of ``plan``;
    an unknown field is left out, so a client selecting it reads null."""
    fields = {
        "MaintenanceState/CurrentState": _text(plan.stage.value),
        "MaintenanceState/CurrentState/Id": _node(maintenance_state_id(plan.stage.value, amb)),
    }
    if plan.planned_date is not None:
        fields["PlannedDate"] = _when(plan.planned_date)
    if plan.estimated_downtime_ms is not None:
        fields["EstimatedDowntime"] = ua.Variant(plan.estimated_downtime_ms, ua.VariantType.Double)
    if plan.method is not None:
        fields["MaintenanceMethod"] = ua.Variant(int(plan.method), ua.VariantType.Int32)
    if plan.parts_replaced:
        parts = [
            name_node_id(part.serial, part.node if isinstance(part.node, ua.NodeId) else None, amb)
            for part in plan.parts_replaced
        ]
        fields["PartsOfAssetReplaced"] = ua.Variant(parts, ua.VariantType.ExtensionObject)
    return fields


def maintenance_of(fields: EventFields) -> PlannedMaintenance | None:
    """Inverse of :func:`maintenance_fields`; None when the event carries none."""
    stage = field_value(fields, "MaintenanceState/CurrentState")
    if stage is None:
        return None
    method = field_value(fields, "MaintenanceMethod")
    return PlannedMaintenance(
        stage=MaintenanceStage(stage.Text),
        planned_date=field_value(fields, "PlannedDate"),
        estimated_downtime_ms=field_value(fields, "EstimatedDowntime"),
        method=None if method is None else MaintenanceMethod(method),
        parts_replaced=tuple(
            ReplacedPart(part.Name.Text or "", None if part.NodeId.is_null() else part.NodeId)
            for part in field_value(fields, "PartsOfAssetReplaced", [])
        ),
    )


def field_value(fields: EventFields, name: str, default: Any = None) -> Any:
    variant = fields.get(name)
    return default if variant is None or variant.Value is None else variant.Value


def state_of(
    condition_id: ua.NodeId, machine: str, component: str, f: EventFields
) -> ConditionState:
    """Inverse of :func:`condition_fields`, to restore conditions from the event history."""
    return ConditionState(
        condition_id=condition_id,
        machine=machine,
        component=component,
        source_node=field_value(f, "SourceNode"),
        source_name=field_value(f, "SourceName", ""),
        severity=field_value(f, "Severity"),
        last_severity=field_value(f, "LastSeverity"),
        message=field_value(f, "Message").Text or "",
        active=field_value(f, "ActiveState/Id"),
        acked=field_value(f, "AckedState/Id"),
        confirmed=field_value(f, "ConfirmedState/Id"),
        event_id=field_value(f, "EventId"),
        time=field_value(f, "Time"),
        receive_time=field_value(f, "ReceiveTime"),
        active_since=field_value(f, "ActiveState/TransitionTime"),
        acked_at=field_value(f, "AckedState/TransitionTime"),
        confirmed_at=field_value(f, "ConfirmedState/TransitionTime"),
        comment=field_value(f, "Comment").Text or "",
        client_user=field_value(f, "ClientUserId", ""),
        maintenance=maintenance_of(f),
    )


def site_event_fields(
    event_type: ua.NodeId,
    event_id: bytes,
    about: tuple[str, str, str],
    message: str,
    severity: int,
    source: tuple[ua.NodeId, str] | None,
    now: datetime,
) -> EventFields:
    """A TrustfloorEventType event: the base fields, then ``about`` as Kind, Subject, State."""
    fields = base_event_fields(
        event_type, event_id, source or (SERVER, "Server"), (now, now), message, severity
    )
    for name, value in zip(SITE_EVENT_FIELDS, about, strict=True):
        fields[name] = ua.Variant(value, ua.VariantType.String)
    return fields


def refresh_marker_fields(event_type: int, now: datetime) -> EventFields:
    """A RefreshStartEvent or RefreshEndEvent (OPC 10000-9 §5.11) from the Server object."""
    name = "start" if event_type == ua.ObjectIds.RefreshStartEventType else "end"
    return base_event_fields(
        ua.NodeId(event_type),
        new_event_id(),
        (SERVER, "Server"),
        (now, now),
        f"ConditionRefresh {name}",
        1,
    )
