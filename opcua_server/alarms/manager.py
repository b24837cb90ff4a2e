"""Maintenance alerts as OPC UA alarm conditions (OPC 10000-9) and site events, with history."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from asyncua import Server, ua
from asyncua.common.instantiate_util import _instantiate_node
from asyncua.common.node import Node

from models import Clock, SystemClock
from opcua_server.errors import ServerError
from opcua_server.history.events import SERVER, EventFields, EventStore, event_of
from opcua_server.security.roles import CURRENT_USER

log = logging.getLogger(__name__)

ALARM_TYPE = ua.NodeId(ua.ObjectIds.OffNormalAlarmType)
MAINTENANCE_CLASS = ua.NodeId(ua.ObjectIds.MaintenanceConditionClassType)
ACKNOWLEDGE = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
CONFIRM = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Confirm)
CONDITION_TYPE = ua.NodeId(ua.ObjectIds.ConditionType)
CONDITION_REFRESH = ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh)
CONDITION_REFRESH2 = ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh2)
ORDER_EVENTS = "PrintOrderEventType"
CERTIFICATE_EVENTS = "CertificateEventType"
SITE_EVENTS = "TrustfloorEventType"
SITE_EVENT_FIELDS = ("Kind", "Subject", "State")
"""Properties of TrustfloorEventType (our namespace), inherited by the order and certificate
types."""

Authorize = Callable[[str], object]
"""Called with "Acknowledge" or "Confirm" before a client's call is served; raises to refuse
(an exception with an int ``status`` answers with that status, any other BadUserAccessDenied)."""

CurrentUser = Callable[[], str | None]
Acknowledged = Callable[[str, str, str], Awaitable[object]]


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
    source_node: ua.NodeId
    """The machine's node: the alarm's SourceNode."""
    source_name: str
    time: datetime | None = None
    """When the alert policy raised it (the event's Time); the clock's now when None."""

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

    condition_id: ua.NodeId
    machine: str
    component: str
    source_node: ua.NodeId
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

    @property
    def retain(self) -> bool:
        """OPC 10000-9 §5.5.2: interesting while active, unacknowledged or unconfirmed."""
        return self.active or not self.acked or not self.confirmed


def new_event_id() -> bytes:
    """A fresh EventId (OPC 10000-5 §6.4.2: unique for every event notification)."""
    return uuid.uuid4().bytes


def condition_node_id(namespace: int, machine: str, component: str) -> ua.NodeId:
    """ConditionId of a (machine, component) alarm: ``ns=<site>;s=Alarms/<machine>/<component>``."""
    return ua.NodeId(f"Alarms/{machine}/{component}", namespace)


def activated(
    previous: ConditionState | None,
    alert: AlertInfo,
    condition_id: ua.NodeId,
    now: datetime,
    event_id: bytes,
) -> ConditionState:
    """The state after ``alert`` was raised: active; a new occurrence needs a new acknowledgement.

    Following OPC 10000-9 Annex B, an occurrence starts unacknowledged and confirmed; Acknowledge
    makes it unconfirmed until Confirm. A raise on an active condition only updates severity
    and message.
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


def _check_event_id(state: ConditionState, event_id: bytes) -> None:
    if event_id != state.event_id:
        raise ConditionMethodError(
            ua.StatusCodes.BadEventIdUnknown,
            f"{state.condition_id.to_string()}: EventId is not the condition's latest",
            advice="refresh the alarm list (ConditionRefresh) and use the newest EventId",
        )


def acknowledged(
    state: ConditionState,
    event_id: bytes,
    comment: str,
    user: str | None,
    now: datetime,
    new_id: bytes,
) -> ConditionState:
    """OPC 10000-9 §5.7.3 Acknowledge: AckedState true, ConfirmedState false, comment kept."""
    _check_event_id(state, event_id)
    if state.acked:
        raise ConditionMethodError(
            ua.StatusCodes.BadConditionBranchAlreadyAcked,
            f"{state.condition_id.to_string()} is already acknowledged",
        )
    return replace(
        state,
        acked=True,
        confirmed=False,
        acked_at=now,
        comment=comment,
        client_user=user or "",
        event_id=new_id,
        time=now,
        receive_time=now,
        last_severity=state.severity,
    )


def confirmed(
    state: ConditionState,
    event_id: bytes,
    comment: str,
    user: str | None,
    now: datetime,
    new_id: bytes,
) -> ConditionState:
    """OPC 10000-9 §5.7.4 Confirm: ConfirmedState true (an unacknowledged alarm is confirmed)."""
    _check_event_id(state, event_id)
    if state.confirmed:
        raise ConditionMethodError(
            ua.StatusCodes.BadConditionBranchAlreadyConfirmed,
            f"{state.condition_id.to_string()} is already confirmed (or not yet acknowledged)",
            advice="acknowledge the alarm first, then confirm it",
        )
    return replace(
        state,
        confirmed=True,
        confirmed_at=now,
        comment=comment,
        client_user=user or "",
        event_id=new_id,
        time=now,
        receive_time=now,
        last_severity=state.severity,
    )


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


def condition_fields(state: ConditionState) -> EventFields:
    """The OffNormalAlarmType event of ``state`` (OPC 10000-9 §5.5.2, §5.7.2, §5.8.2, §5.8.23)."""
    fields = base_event_fields(
        ALARM_TYPE,
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
    return fields


def _value(fields: EventFields, name: str, default: Any = None) -> Any:
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
        source_node=_value(f, "SourceNode"),
        source_name=_value(f, "SourceName", ""),
        severity=_value(f, "Severity"),
        last_severity=_value(f, "LastSeverity"),
        message=_value(f, "Message").Text or "",
        active=_value(f, "ActiveState/Id"),
        acked=_value(f, "AckedState/Id"),
        confirmed=_value(f, "ConfirmedState/Id"),
        event_id=_value(f, "EventId"),
        time=_value(f, "Time"),
        receive_time=_value(f, "ReceiveTime"),
        active_since=_value(f, "ActiveState/TransitionTime"),
        acked_at=_value(f, "AckedState/TransitionTime"),
        confirmed_at=_value(f, "ConfirmedState/TransitionTime"),
        comment=_value(f, "Comment").Text or "",
        client_user=_value(f, "ClientUserId", ""),
    )


def _arguments(args: Sequence[ua.Variant], *kinds: ua.VariantType) -> list[Any]:
    """The values of a method call's input arguments, checked against their types."""
    if len(args) < len(kinds):
        raise ConditionMethodError(ua.StatusCodes.BadArgumentsMissing, "arguments missing")
    if len(args) > len(kinds):
        raise ConditionMethodError(ua.StatusCodes.BadTooManyArguments, "too many arguments")
    values: list[Any] = []
    for arg, kind in zip(args, kinds, strict=True):
        if arg.VariantType == ua.VariantType.Null and kind == ua.VariantType.LocalizedText:
            values.append(ua.LocalizedText(""))
        elif arg.VariantType == kind or (kind == ua.VariantType.UInt32 and _is_integer(arg)):
            values.append(arg.Value)
        else:
            raise ConditionMethodError(
                ua.StatusCodes.BadTypeMismatch, f"expected {kind.name}, got {arg.VariantType.name}"
            )
    return values


def _is_integer(arg: ua.Variant) -> bool:
    return isinstance(arg.Value, int) and not isinstance(arg.Value, bool) and arg.Value >= 0


def _session_user() -> str | None:
    """The name of the session user calling the method (set per request by security.roles)."""
    user = CURRENT_USER.get()
    return None if user is None or user.name is None else str(user.name)


def _refusal_status(refusal: Exception) -> int:
    status = getattr(refusal, "status", None)
    return status if isinstance(status, int) else ua.StatusCodes.BadUserAccessDenied


class AlarmManager:
    """Alarm conditions of machine components, site events, ConditionRefresh and event history.

    Conditions live under ``Objects/Alarms/<machine>/<component>`` (OffNormalAlarmType with
    ConfirmedState), with a HasCondition reference from the machine's node. Every event is
    emitted from the Server object and stored in ``store`` before clients see it.
    Call :meth:`start` after ``await server.init()`` and after the namespace is registered.
    """

    def __init__(
        self,
        server: Server,
        namespace: int,
        store: EventStore,
        *,
        clock: Clock | None = None,
        authorize: Authorize | None = None,
        current_user: CurrentUser = _session_user,
    ) -> None:
        self._server = server
        self.namespace = namespace
        self.store = store
        self._clock = clock or SystemClock()
        self._authorize = authorize
        self._current_user = current_user
        self._conditions: dict[tuple[str, str], ConditionState] = {}
        self._by_id: dict[ua.NodeId, tuple[str, str]] = {}
        self._history_sources: set[ua.NodeId] = set()
        self._lock = asyncio.Lock()
        self._folder: Node | None = None
        self.on_acknowledged: Acknowledged | None = None
        """Told (machine, component, user) after a client acknowledged an alarm."""

    def event_type(self, name: str) -> ua.NodeId:
        """NodeId of one of our event types (TrustfloorEventType and its subtypes)."""
        return ua.NodeId(f"EventTypes/{name}", self.namespace)

    async def start(self) -> None:
        """Add the event types and the Alarms folder, bind the methods, restore retained alarms."""
        await self._add_event_types()
        self._folder = await self._server.nodes.objects.add_folder(
            ua.NodeId("Alarms", self.namespace), ua.QualifiedName("Alarms", self.namespace)
        )
        session = self._server.iserver.isession
        session.add_method_callback(ACKNOWLEDGE, self._on_acknowledge)
        session.add_method_callback(CONFIRM, self._on_confirm)
        session.add_method_callback(CONDITION_REFRESH, self._on_refresh)
        session.add_method_callback(CONDITION_REFRESH2, self._on_refresh)
        server_node = self._server.get_node(SERVER)
        await server_node.set_event_notifier(
            [ua.EventNotifier.SubscribeToEvents, ua.EventNotifier.HistoryRead]
        )
        await self._restore()

    def condition(self, machine: str, component: str) -> ConditionState | None:
        return self._conditions.get((machine, component))

    def retained(self) -> list[ConditionState]:
        """Conditions a client must know about (what ConditionRefresh sends)."""
        return [state for state in self._conditions.values() if state.retain]

    async def raise_alert(self, alert: AlertInfo) -> ua.NodeId:
        """Activate (or update) the alert's condition, emit its event; returns the ConditionId."""
        key = (alert.machine, alert.component)
        condition_id = condition_node_id(self.namespace, *key)
        async with self._lock:
            previous = self._conditions.get(key)
            if condition_id not in self._by_id:
                await self._add_condition_node(condition_id, alert)
            unchanged = (
                previous is not None
                and previous.active
                and (previous.severity, previous.message) == (alert.severity, alert.message)
            )
            if not unchanged:
                now = self._clock.now()
                await self._commit(activated(previous, alert, condition_id, now, new_event_id()))
        return condition_id

    async def clear(self, machine: str, component: str, message: str | None = None) -> bool:
        """Deactivate the condition; False when it was not active."""
        async with self._lock:
            state = self._conditions.get((machine, component))
            if state is None or not state.active:
                return False
            await self._commit(deactivated(state, message, self._clock.now(), new_event_id()))
        return True

    async def acknowledge(
        self, condition_id: ua.NodeId, event_id: bytes, comment: str = "", user: str | None = None
    ) -> ConditionState:
        """OPC 10000-9 §5.7.3; raises ConditionMethodError with the status a client gets."""
        state = await self._change(condition_id, acknowledged, event_id, comment, user)
        if self.on_acknowledged is not None:
            try:
                await self.on_acknowledged(state.machine, state.component, user or "")
            except Exception:
                log.exception("acknowledgement of %s not passed on", condition_id.to_string())
        return state

    async def confirm(
        self, condition_id: ua.NodeId, event_id: bytes, comment: str = "", user: str | None = None
    ) -> ConditionState:
        """OPC 10000-9 §5.7.4; raises ConditionMethodError with the status a client gets."""
        return await self._change(condition_id, confirmed, event_id, comment, user)

    async def emit_order_event(
        self,
        order_id: str,
        state: str,
        message: str,
        *,
        severity: int = 100,
        source: tuple[ua.NodeId, str] | None = None,
    ) -> bytes:
        """A PrintOrderEventType event (Kind "print_order", Subject = order id); its EventId."""
        return await self._emit_site_event(
            ORDER_EVENTS, "print_order", order_id, state, message, severity, source
        )

    async def emit_certificate_event(
        self,
        serial: str,
        state: str,
        message: str,
        *,
        severity: int = 100,
        source: tuple[ua.NodeId, str] | None = None,
    ) -> bytes:
        """A CertificateEventType event (Kind "certificate", Subject = part serial)."""
        return await self._emit_site_event(
            CERTIFICATE_EVENTS, "certificate", serial, state, message, severity, source
        )

    async def refresh(self, subscription_id: int, monitored_item: int | None = None) -> None:
        """OPC 10000-9 §5.5.7 ConditionRefresh (§5.5.8 ConditionRefresh2 with a monitored item).

        A RefreshStartEvent, the current event of every retained condition, a RefreshEndEvent.
        The start and end events ignore the items' filters, as §5.11.1 requires.
        """
        subscription = self._server.iserver.subscription_service.subscriptions.get(subscription_id)
        if subscription is None:
            raise ConditionMethodError(
                ua.StatusCodes.BadSubscriptionIdInvalid, f"no subscription {subscription_id}"
            )
        items = _event_items(subscription, monitored_item)
        retained = [event_of(condition_fields(state)) for state in self.retained()]
        await _deliver_unfiltered(
            subscription, items, self._marker(ua.ObjectIds.RefreshStartEventType)
        )
        on_server = set(subscription.monitored_item_srv._monitored_events.get(SERVER, ()))
        for event in retained:
            for item in items & on_server:
                await subscription.monitored_item_srv.trigger_event(event, item)
        await _deliver_unfiltered(
            subscription, items, self._marker(ua.ObjectIds.RefreshEndEventType)
        )

    async def _add_event_types(self) -> None:
        """TrustfloorEventType (Kind, Subject, State) and its order and certificate subtypes."""
        ns = self.namespace
        base = self._server.get_node(ua.ObjectIds.BaseEventType)
        site = await base.add_object_type(
            self.event_type(SITE_EVENTS), ua.QualifiedName(SITE_EVENTS, ns)
        )
        await site.write_attribute(
            ua.AttributeIds.IsAbstract, ua.DataValue(ua.Variant(True, ua.VariantType.Boolean))
        )
        for field in SITE_EVENT_FIELDS:
            prop = await site.add_property(
                ua.NodeId(f"EventTypes/{SITE_EVENTS}/{field}", ns),
                ua.QualifiedName(field, ns),
                ua.Variant("", ua.VariantType.String),
            )
            await prop.set_modelling_rule(True)
        for name in (ORDER_EVENTS, CERTIFICATE_EVENTS):
            await site.add_object_type(self.event_type(name), ua.QualifiedName(name, ns))

    async def _add_condition_node(self, condition_id: ua.NodeId, alert: AlertInfo) -> None:
        """The condition instance: OffNormalAlarmType's mandatory nodes plus Confirm(edState)."""
        assert self._folder is not None, "start() first"
        ns = self.namespace
        machine_folder = self._server.get_node(ua.NodeId(f"Alarms/{alert.machine}", ns))
        if machine_folder.nodeid not in self._server.iserver.aspace:
            machine_folder = await self._folder.add_folder(
                machine_folder.nodeid, ua.QualifiedName(alert.machine, ns)
            )
        node = await machine_folder.add_object(
            condition_id,
            ua.QualifiedName(alert.component, ns),
            objecttype=ALARM_TYPE,
            instantiate_optional=False,
        )
        await node.write_attribute(
            ua.AttributeIds.DisplayName,
            ua.DataValue(ua.Variant(ua.LocalizedText(f"{alert.source_name} {alert.component}"))),
        )
        await self._add_confirm(node)
        for name, handler in (("Acknowledge", self._on_acknowledge), ("Confirm", self._on_confirm)):
            self._server.iserver.isession.add_method_callback(
                ua.NodeId(f"{condition_id.Identifier}.{name}", ns), handler
            )
        if alert.source_node in self._server.iserver.aspace:
            await self._server.get_node(alert.source_node).add_reference(
                condition_id, ua.ObjectIds.HasCondition
            )
        self._by_id[condition_id] = (alert.machine, alert.component)

    async def _add_confirm(self, node: Node) -> None:
        """ConfirmedState and Confirm (optional in AcknowledgeableConditionType), as declared."""
        acknowledgeable = self._server.get_node(ua.ObjectIds.AcknowledgeableConditionType)
        wanted = {"ConfirmedState", "Confirm"}
        for description in await acknowledgeable.get_children_descriptions():
            if description.BrowseName.Name not in wanted:
                continue
            # asyncua's public instantiate() would type the copy with the declaration's NodeId;
            # its private worker keeps the declaration's TypeDefinition (asyncua pinned 2.1.0).
            await _instantiate_node(
                node.session,
                self._server.get_node(description.NodeId),
                node.nodeid,
                description,
                ua.NodeId(
                    f"{node.nodeid.Identifier}.{description.BrowseName.Name}", self.namespace
                ),
                description.BrowseName,
                instantiate_optional=False,
            )

    async def _change(
        self,
        condition_id: ua.NodeId,
        transition: Callable[..., ConditionState],
        event_id: bytes,
        comment: str,
        user: str | None,
    ) -> ConditionState:
        key = self._by_id.get(condition_id)
        if key is None or key not in self._conditions:
            raise ConditionMethodError(
                ua.StatusCodes.BadNodeIdUnknown,
                f"{condition_id.to_string()} is not an alarm condition of this server",
            )
        async with self._lock:
            state = self._conditions[key]
            now = self._clock.now()
            changed = transition(state, event_id, comment, user, now, new_event_id())
            await self._commit(changed)
        log.info(
            "%s %s by %s: %s",
            condition_id.to_string(),
            transition.__name__,
            user or "unknown user",
            comment,
        )
        return changed

    async def _commit(self, state: ConditionState) -> None:
        """Store the condition's event, then make it the current state, mirror it and emit it."""
        fields = condition_fields(state)
        await self.store.append(
            fields, condition=state.condition_id, machine=state.machine, component=state.component
        )
        self._conditions[(state.machine, state.component)] = state
        await self._mirror(state.condition_id, fields)
        await self._mark_history_source(state.source_node)
        await self._server.iserver.subscription_service.trigger_event(event_of(fields))

    async def _mirror(self, condition_id: ua.NodeId, fields: EventFields) -> None:
        """Write the event's fields into the condition instance's variables (Part 9 §4.10)."""
        aspace = self._server.iserver.aspace
        for name, value in fields.items():
            child = ua.NodeId(
                f"{condition_id.Identifier}.{name.replace('/', '.')}", condition_id.NamespaceIndex
            )
            if name != "NodeId" and child in aspace:
                await self._server.write_attribute_value(child, ua.DataValue(value))

    async def _mark_history_source(self, source: ua.NodeId) -> None:
        """Set the HistoryRead bit of an event source's EventNotifier (OPC 10000-3 §5.4)."""
        if source in self._history_sources or source not in self._server.iserver.aspace:
            return
        node = self._server.get_node(source)
        current = await node.read_attribute(ua.AttributeIds.EventNotifier)
        bits = int(current.Value.Value or 0) | (1 << ua.EventNotifier.HistoryRead.value)
        await node.write_attribute(
            ua.AttributeIds.EventNotifier, ua.DataValue(ua.Variant(bits, ua.VariantType.Byte))
        )
        self._history_sources.add(source)

    async def _emit_site_event(
        self,
        type_name: str,
        kind: str,
        subject: str,
        state: str,
        message: str,
        severity: int,
        source: tuple[ua.NodeId, str] | None,
    ) -> bytes:
        now = self._clock.now()
        event_id = new_event_id()
        fields = base_event_fields(
            self.event_type(type_name),
            event_id,
            source or (SERVER, "Server"),
            (now, now),
            message,
            severity,
        )
        for name, value in zip(SITE_EVENT_FIELDS, (kind, subject, state), strict=True):
            fields[name] = ua.Variant(value, ua.VariantType.String)
        async with self._lock:
            await self.store.append(fields)
            if source is not None:
                await self._mark_history_source(source[0])
            await self._server.iserver.subscription_service.trigger_event(event_of(fields))
        return event_id

    def _marker(self, event_type: int) -> Any:
        """A RefreshStartEvent or RefreshEndEvent (OPC 10000-9 §5.11) from the Server object."""
        now = self._clock.now()
        name = "start" if event_type == ua.ObjectIds.RefreshStartEventType else "end"
        return event_of(
            base_event_fields(
                ua.NodeId(event_type),
                new_event_id(),
                (SERVER, "Server"),
                (now, now),
                f"ConditionRefresh {name}",
                1,
            )
        )

    async def _restore(self) -> None:
        """Bring back the conditions still retained when the process last stopped."""
        for machine, component, fields in await self.store.latest_conditions():
            if not _value(fields, "Retain", False):
                continue
            condition_id = condition_node_id(self.namespace, machine, component)
            state = state_of(condition_id, machine, component, fields)
            alert = AlertInfo(
                machine,
                component,
                state.severity,
                state.message,
                state.source_node,
                state.source_name,
            )
            await self._add_condition_node(condition_id, alert)
            self._conditions[(machine, component)] = state
            await self._mirror(condition_id, condition_fields(state))
            log.info("restored retained alarm %s", condition_id.to_string())

    async def _on_acknowledge(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        return await self._serve_condition_method("Acknowledge", self.acknowledge, parent, args)

    async def _on_confirm(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        return await self._serve_condition_method("Confirm", self.confirm, parent, args)

    async def _serve_condition_method(
        self,
        action: str,
        change: Callable[..., Any],
        condition_id: ua.NodeId,
        args: Sequence[ua.Variant],
    ) -> Any:
        """A client's Acknowledge or Confirm call: arguments, role check, then the change."""
        try:
            event_id, comment = _arguments(
                args, ua.VariantType.ByteString, ua.VariantType.LocalizedText
            )
            if condition_id not in self._by_id:
                raise ConditionMethodError(
                    ua.StatusCodes.BadNodeIdUnknown, f"{condition_id} is not a condition"
                )
            self._check_role(action)
            await change(condition_id, event_id or b"", comment.Text or "", self._current_user())
        except ConditionMethodError as refusal:
            log.warning("%s on %s refused: %s", action, condition_id.to_string(), refusal)
            return ua.StatusCode(refusal.status)
        return []

    def _check_role(self, action: str) -> None:
        if self._authorize is None:
            return
        try:
            self._authorize(action)
        except Exception as refusal:
            raise ConditionMethodError(_refusal_status(refusal), str(refusal)) from refusal

    async def _on_refresh(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        """ConditionRefresh(SubscriptionId), ConditionRefresh2(SubscriptionId, MonitoredItemId)."""
        kinds = [ua.VariantType.UInt32] * (2 if len(args) > 1 else 1)
        try:
            if parent != CONDITION_TYPE:
                raise ConditionMethodError(
                    ua.StatusCodes.BadMethodInvalid, "call ConditionRefresh on the ConditionType"
                )
            ids = _arguments(args, *kinds)
            await self.refresh(ids[0], ids[1] if len(ids) > 1 else None)
        except ConditionMethodError as refusal:
            log.warning("ConditionRefresh refused: %s", refusal)
            return ua.StatusCode(refusal.status)
        return []


def _event_items(subscription: Any, monitored_item: int | None) -> set[int]:
    """The event monitored items of ``subscription`` to refresh (asyncua internals, 2.1.0)."""
    service = subscription.monitored_item_srv
    items = {mid for mids in service._monitored_events.values() for mid in mids}
    if monitored_item is not None:
        if monitored_item not in items:
            raise ConditionMethodError(
                ua.StatusCodes.BadMonitoredItemIdInvalid, f"no event item {monitored_item}"
            )
        return {monitored_item}
    if not items:
        raise ConditionMethodError(
            ua.StatusCodes.BadNothingToDo, "the subscription has no event monitored items"
        )
    return items


async def _deliver_unfiltered(subscription: Any, items: set[int], event: Any) -> None:
    """Queue ``event`` on each item whatever its where clause (OPC 10000-9 §5.11.1)."""
    service = subscription.monitored_item_srv
    for mid in sorted(items):
        item = service._monitored_items[mid]
        fields = ua.EventFieldList()
        fields.ClientHandle = item.client_handle
        fields.EventFields = event.to_event_fields(item.filter.SelectClauses)
        await subscription.enqueue_event(mid, fields, item.queue_size)
