"""Client calls on conditions: Acknowledge/Confirm arguments and ConditionRefresh delivery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asyncua import Server, ua
from asyncua.common.events import Event

from models import Clock
from opcua_server.alarms.conditions import ConditionMethodError
from opcua_server.alarms.fields import refresh_marker_fields
from opcua_server.history.events import SERVER, event_of
from opcua_server.security.roles import CURRENT_USER

ACKNOWLEDGE = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
CONFIRM = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Confirm)
CONDITION_TYPE = ua.NodeId(ua.ObjectIds.ConditionType)
CONDITION_REFRESH = ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh)
CONDITION_REFRESH2 = ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh2)


def method_arguments(args: Sequence[ua.Variant], *kinds: ua.VariantType) -> list[Any]:
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


def session_user() -> str | None:
    """The name of the session user calling the method (set per request by security.roles)."""
    user = CURRENT_USER.get()
    return None if user is None or user.name is None else str(user.name)


def refusal_status(refusal: Exception) -> int:
    """The status a refused call answers with: the refusal's own, else BadUserAccessDenied."""
    status = getattr(refusal, "status", None)
    return status if isinstance(status, int) else ua.StatusCodes.BadUserAccessDenied


async def deliver_refresh(
    server: Server,
    subscription_id: int,
    monitored_item: int | None,
    retained: Sequence[Event],
    clock: Clock,
) -> None:
    """OPC 10000-9 §5.5.7 ConditionRefresh (§5.5.8 ConditionRefresh2 with a monitored item).

    A RefreshStartEvent, the event of every ``retained`` condition, a RefreshEndEvent. The
    start and end events ignore the items' filters, as §5.11.1 requires.
    """
    subscription = server.iserver.subscription_service.subscriptions.get(subscription_id)
    if subscription is None:
        raise ConditionMethodError(
            ua.StatusCodes.BadSubscriptionIdInvalid, f"no subscription {subscription_id}"
        )
    items = _event_items(subscription, monitored_item)
    await _deliver_unfiltered(
        subscription, items, _marker(ua.ObjectIds.RefreshStartEventType, clock)
    )
    on_server = set(subscription.monitored_item_srv._monitored_events.get(SERVER, ()))
    for event in retained:
        for item in items & on_server:
            await subscription.monitored_item_srv.trigger_event(event, item)
    await _deliver_unfiltered(subscription, items, _marker(ua.ObjectIds.RefreshEndEventType, clock))


def _marker(event_type: int, clock: Clock) -> Event:
    return event_of(refresh_marker_fields(event_type, clock.now()))


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
