"""Patch batched_data_changes: monitored items of queue size 1 sample once per publish."""

# Replaces MonitoredItemService.datachange_callback and InternalSubscription.publish_results
# (asyncua 2.1.0).
#
# Why: asyncua handled every write to a monitored variable at once: copy, change test, a
# MonitoredItemNotification, the queue. An item with queue size 1 only ever sends its latest
# value, and asyncua revises its sampling interval to the publishing interval, so the item now
# samples (OPC 10000-4 §5.12.1.2 sampling interval, §5.12.1.5 queue size 1): a write just
# records the item's latest value, and right before the subscription publishes, each latest
# value goes through asyncua's own change test and queue as datachange_callback would put it
# there, minus the throw-away default DataValue it builds first. Values that change several
# times per publishing interval cost one change test instead of several; a value that changes
# and changes back within one interval is, as on any sampling server, not reported. Items with
# a longer queue, a deadband, or on a subscription without a publishing loop keep asyncua's
# per-write handling. Only servers passed to `install_fast_path` (`sample_for`).
#
# Checked: the source digests of the two replaced functions and of the three it calls in their
# place (_is_data_changed, enqueue_datachange_event, _enqueue_event).

from __future__ import annotations

import weakref
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace
from asyncua.server.internal_subscription import InternalSubscription
from asyncua.server.monitored_item_service import MonitoredItemService

from opcua_server.fastpath.patching import Patch, Target

_original_datachange_callback = MonitoredItemService.datachange_callback
_original_publish_results = InternalSubscription.publish_results
_BATCHED_SPACES: weakref.WeakSet[Any] = weakref.WeakSet()


def sample_for(aspace: AddressSpace) -> None:
    """Let the monitored items of the server owning ``aspace`` sample once per publish."""
    _BATCHED_SPACES.add(aspace)


def _samples(service: MonitoredItemService, handle: int) -> bool:
    """Whether the item keeps only its latest value (queue size 1, no deadband) on a
    subscription with a publishing loop, of a server that installed the fast path."""
    batched: bool | None = getattr(service, "trustfloor_batched", None)
    if batched is None:
        batched = service.trustfloor_batched = service.aspace in _BATCHED_SPACES
    if not batched or service.isub.data.RevisedPublishingInterval <= 0:
        return False
    mid = service._monitored_datachange.get(handle)
    item = service._monitored_items.get(mid) if mid is not None else None
    if item is None or item.queue_size != 1:
        return False
    flt = item.filter  # asyncua reads a falsy filter (None, empty ExtensionObject) as none
    return not flt or (
        isinstance(flt, ua.DataChangeFilter) and flt.DeadbandType == ua.DeadbandType.None_
    )


async def _datachange_callback(
    self: MonitoredItemService, handle: int, value: ua.DataValue, error: Any = None
) -> None:
    """MonitoredItemService.datachange_callback (asyncua 2.1.0), deferred to the next publish
    for items that keep only their latest value."""
    pending: dict[int, ua.DataValue] | None = getattr(self, "trustfloor_pending", None)
    if error is None and _samples(self, handle):
        if pending is None:
            pending = self.trustfloor_pending = {}
        pending[handle] = value
        return
    if pending and handle in pending:  # the item stopped sampling: keep the order of values
        await _original_datachange_callback(self, handle, pending.pop(handle))
    await _original_datachange_callback(self, handle, value, error)


async def flush_data_changes(service: MonitoredItemService) -> None:
    """Put each sampling item's latest value through asyncua's change test and queue."""
    pending: dict[int, ua.DataValue] | None = getattr(service, "trustfloor_pending", None)
    if not pending:
        return
    service.trustfloor_pending = {}
    for handle, value in pending.items():
        mid = service._monitored_datachange.get(handle)
        item = service._monitored_items.get(mid) if mid is not None else None
        if item is not None and item.mode != ua.MonitoringMode.Disabled:  # else: deleted, off
            await _report_if_changed(service, mid, item, value)


async def _report_if_changed(
    service: MonitoredItemService, mid: int, item: Any, value: ua.DataValue
) -> None:
    """datachange_callback's steps (asyncua 2.1.0) for an item without deadband."""
    item.mvalue.set_current_datavalue(value)
    trigger = item.filter.Trigger if item.filter else ua.DataChangeTrigger.StatusValue
    if service._is_data_changed(item.mvalue, trigger):
        notification = ua.MonitoredItemNotification(item.client_handle, value)
        await service.isub.enqueue_datachange_event(mid, notification, item.queue_size)


async def _publish_results(self: InternalSubscription, requestdata: Any = None) -> bool:
    """InternalSubscription.publish_results (asyncua 2.1.0), sampling pending changes first."""
    await flush_data_changes(self.monitored_item_srv)
    result: bool = await _original_publish_results(self, requestdata)
    return result


PATCH = Patch(
    "batched_data_changes",
    (
        Target(
            MonitoredItemService,
            "datachange_callback",
            "d4468698f4d16058fe297b56f9900b9cd5883027bda8c94ce90b724c9045ea3b",
            _datachange_callback,
        ),
        Target(
            InternalSubscription,
            "publish_results",
            "61ce721eff3735ea0af1220d5e9b8691fb05a99bb488685fec4ff3cf88ad3818",
            _publish_results,
        ),
        Target(
            MonitoredItemService,
            "_is_data_changed",
            "57a0bdefa822c5a7c95c12a37642002c1fcd83c19864fa9daea519958f3a58ad",
        ),
        Target(
            InternalSubscription,
            "enqueue_datachange_event",
            "83acd6e086d9b1c9a22db83708576fb56fd61d42c85b0ade5c9c75d7650c1928",
        ),
        Target(
            InternalSubscription,
            "_enqueue_event",
            "e69c7f033b26833b03233367e984c8ac4643ef53c6b06a5906a6f0d2d9bb737c",
        ),
    ),
)
