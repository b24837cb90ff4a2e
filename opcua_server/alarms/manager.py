"""Maintenance alerts as OPC UA alarm conditions (OPC 10000-9) and site events, with history."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypedDict, Unpack

from asyncua import Server, ua
from asyncua.common.node import Node

from models import Clock, SystemClock
from opcua_server.alarms import calls, nodes
from opcua_server.alarms.conditions import (
    AlertInfo,
    ClientCall,
    ConditionMethodError,
    ConditionState,
    acknowledged,
    activated,
    confirmed,
    deactivated,
    maintenance_changed,
)
from opcua_server.alarms.fields import (
    condition_fields,
    condition_node_id,
    field_value,
    new_event_id,
    site_event_fields,
    state_of,
)
from opcua_server.alarms.maintenance import PlannedMaintenance, ReplacedPart, replanned
from opcua_server.history.events import SERVER, EventFields, EventStore, event_of

log = logging.getLogger(__name__)

Authorize = Callable[[str], object]
"""Called with "Acknowledge" or "Confirm" before a client's call is served; raises to refuse
(an exception with an int ``status`` answers with that status, any other BadUserAccessDenied)."""

CurrentUser = Callable[[], str | None]
Acknowledged = Callable[[str, str, str], Awaitable[object]]


class SiteEventOptions(TypedDict, total=False):
    """How an order or certificate event is emitted, beyond what it is about."""

    severity: int
    """OPC 10000-5 §6.4.2 Severity; 100 when not given."""
    source: tuple[ua.NodeId, str] | None
    """SourceNode and SourceName; the Server object when not given."""


class AlarmManager:
    """Alarm conditions of machine components, site events, ConditionRefresh and event history.

    Conditions live under ``Objects/Alarms/<machine>/<component>`` (DI
    MaintenanceRequiredAlarmType, an OffNormalAlarmType, with ConfirmedState), with a
    HasCondition reference from the machine's node. Every event is
    emitted from the Server object and stored in the event store before clients see it.
    Call :meth:`start` after ``await server.init()``, the DI nodeset's import and the
    namespace's registration.
    """

    def __init__(
        self,
        server: Server,
        namespace: int,
        store: EventStore,
        *,
        clock: Clock | None = None,
        authorize: Authorize | None = None,
        current_user: CurrentUser = calls.session_user,
    ) -> None:
        self._server = server
        self.namespace = namespace
        self.events = store
        self._clock = clock or SystemClock()
        self._authorize = authorize
        self._current_user = current_user
        self._conditions: dict[tuple[str, str], ConditionState] = {}
        self._by_id: dict[ua.NodeId, tuple[str, str]] = {}
        self._history_sources: set[ua.NodeId] = set()
        self._lock = asyncio.Lock()
        self._folder: Node | None = None
        self._alarm_type = ua.NodeId(ua.ObjectIds.OffNormalAlarmType)
        self._amb: int | None = None
        self.on_acknowledged: Acknowledged | None = None
        """Told (machine, component, user) after a client acknowledged an alarm."""

    def event_type(self, name: str) -> ua.NodeId:
        """NodeId of one of our event types (TrustfloorEventType and its subtypes)."""
        return nodes.event_type_id(self.namespace, name)

    @property
    def alarm_type(self) -> ua.NodeId:
        """The type of the alarm conditions once started: PredictiveMaintenanceAlarmType, a DI
        MaintenanceRequiredAlarmType implementing AMB IMaintenanceEventType."""
        return self._alarm_type

    async def start(self) -> None:
        """Add the event types and the Alarms folder, bind the methods, restore retained alarms.

        Raises AlarmError when the DI or AMB nodeset, which the alarms' type builds on, is not
        imported.
        """
        self._alarm_type, self._amb = await nodes.add_alarm_type(self._server, self.namespace)
        await nodes.add_event_types(self._server, self.namespace)
        self._folder = await self._server.nodes.objects.add_folder(
            ua.NodeId("Alarms", self.namespace), ua.QualifiedName("Alarms", self.namespace)
        )
        session = self._server.iserver.isession
        session.add_method_callback(calls.ACKNOWLEDGE, self._on_acknowledge)
        session.add_method_callback(calls.CONFIRM, self._on_confirm)
        session.add_method_callback(calls.CONDITION_REFRESH, self._on_refresh)
        session.add_method_callback(calls.CONDITION_REFRESH2, self._on_refresh)
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
                and replanned(previous.maintenance, alert.maintenance) == previous.maintenance
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

    async def plan_maintenance(
        self, machine: str, component: str, plan: PlannedMaintenance
    ) -> bool:
        """The maintenance the condition asks for moved on (OPC 10000-110 MaintenanceState,
        PlannedDate, PartsOfAssetReplaced, ...): a new event of the condition, whether active or
        not. False when the condition is unknown or its maintenance is already ``plan``.

        A replaced part's node is filled in when the server shows the part (``Parts/<serial>``).
        """
        plan = self._with_part_nodes(plan)
        async with self._lock:
            state = self._conditions.get((machine, component))
            if state is None or state.maintenance == plan:
                return False
            now = self._clock.now()
            await self._commit(maintenance_changed(state, plan, now, new_event_id()))
        return True

    def _with_part_nodes(self, plan: PlannedMaintenance) -> PlannedMaintenance:
        aspace = self._server.iserver.aspace
        parts = []
        for part in plan.parts_replaced:
            node = ua.NodeId(f"Parts/{part.serial}", self.namespace)
            parts.append(ReplacedPart(part.serial, node if node in aspace else part.node))
        return replace(plan, parts_replaced=tuple(parts))

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
        self, order_id: str, state: str, message: str, **options: Unpack[SiteEventOptions]
    ) -> bytes:
        """A PrintOrderEventType event (Kind "print_order", Subject = order id); its EventId."""
        about = ("print_order", order_id, state)
        return await self._emit_site_event(nodes.ORDER_EVENTS, about, message, **options)

    async def emit_certificate_event(
        self, serial: str, state: str, message: str, **options: Unpack[SiteEventOptions]
    ) -> bytes:
        """A CertificateEventType event (Kind "certificate", Subject = part serial)."""
        about = ("certificate", serial, state)
        return await self._emit_site_event(nodes.CERTIFICATE_EVENTS, about, message, **options)

    async def refresh(self, subscription_id: int, monitored_item: int | None = None) -> None:
        """OPC 10000-9 §5.5.7 ConditionRefresh (§5.5.8 ConditionRefresh2 with a monitored item).

        A RefreshStartEvent, the current event of every retained condition, a RefreshEndEvent.
        The start and end events ignore the items' filters, as §5.11.1 requires.
        """
        retained = [event_of(self._fields(state)) for state in self.retained()]
        await calls.deliver_refresh(
            self._server, subscription_id, monitored_item, retained, self._clock
        )

    async def _add_condition_node(self, condition_id: ua.NodeId, alert: AlertInfo) -> None:
        """The condition instance with its Acknowledge and Confirm bound to this manager."""
        assert self._folder is not None, "start() first"
        await nodes.add_condition_node(
            self._server, self._folder, self.namespace, (condition_id, self._alarm_type), alert
        )
        for name, handler in (("Acknowledge", self._on_acknowledge), ("Confirm", self._on_confirm)):
            self._server.iserver.isession.add_method_callback(
                ua.NodeId(f"{condition_id.Identifier}.{name}", self.namespace), handler
            )
        self._by_id[condition_id] = (alert.machine, alert.component)

    async def _change(
        self,
        condition_id: ua.NodeId,
        transition: Callable[[ConditionState, ClientCall], ConditionState],
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
            call = ClientCall(event_id, comment, user, self._clock.now(), new_event_id())
            changed = transition(state, call)
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
        fields = self._fields(state)
        await self.events.append(
            fields, condition=state.condition_id, machine=state.machine, component=state.component
        )
        self._conditions[(state.machine, state.component)] = state
        await nodes.mirror(self._server, state.condition_id, fields)
        await self._mark_history_source(state.source_node)
        await self._server.iserver.subscription_service.trigger_event(event_of(fields))

    def _fields(self, state: ConditionState) -> EventFields:
        """The condition's event fields, its planned maintenance as AMB fields included."""
        return condition_fields(state, self._alarm_type, self._amb)

    async def _mark_history_source(self, source: ua.NodeId) -> None:
        """Set the HistoryRead bit of an event source's EventNotifier (OPC 10000-3 §5.4)."""
        if source in self._history_sources or source not in self._server.iserver.aspace:
            return
        await nodes.allow_event_history(self._server, source)
        self._history_sources.add(source)

    async def _emit_site_event(
        self,
        type_name: str,
        about: tuple[str, str, str],
        message: str,
        *,
        severity: int = 100,
        source: tuple[ua.NodeId, str] | None = None,
    ) -> bytes:
        """A TrustfloorEventType subtype's event ``about`` (kind, subject, state); its EventId."""
        event_id = new_event_id()
        fields = site_event_fields(
            self.event_type(type_name),
            event_id,
            about,
            message,
            severity,
            source,
            self._clock.now(),
        )
        async with self._lock:
            await self.events.append(fields)
            if source is not None:
                await self._mark_history_source(source[0])
            await self._server.iserver.subscription_service.trigger_event(event_of(fields))
        return event_id

    async def _restore(self) -> None:
        """Bring back the conditions still retained when the process last stopped."""
        for machine, component, fields in await self.events.latest_conditions():
            if not field_value(fields, "Retain", False):
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
            await nodes.mirror(self._server, condition_id, self._fields(state))
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
            event_id, comment = calls.method_arguments(
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
            raise ConditionMethodError(calls.refusal_status(refusal), str(refusal)) from refusal

    async def _on_refresh(self, parent: ua.NodeId, *args: ua.Variant) -> Any:
        """ConditionRefresh(SubscriptionId), ConditionRefresh2(SubscriptionId, MonitoredItemId)."""
        kinds = [ua.VariantType.UInt32] * (2 if len(args) > 1 else 1)
        try:
            if parent != calls.CONDITION_TYPE:
                raise ConditionMethodError(
                    ua.StatusCodes.BadMethodInvalid, "call ConditionRefresh on the ConditionType"
                )
            ids = calls.method_arguments(args, *kinds)
            await self.refresh(ids[0], ids[1] if len(ids) > 1 else None)
        except ConditionMethodError as refusal:
            log.warning("ConditionRefresh refused: %s", refusal)
            return ua.StatusCode(refusal.status)
        return []
