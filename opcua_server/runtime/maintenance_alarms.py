"""Alerts and work requests as their alarms' planned maintenance (OPC 10000-110 AMB fields)."""

# The work request is the plan: its due date is PlannedDate, its status where the work stands
# (MaintenanceState), the serial of the part its closure fitted is PartsOfAssetReplaced. Every
# work request is a component of a machine repaired or replaced at the machine, so the method
# is Local. The site knows no fitting time, so EstimatedDowntime stays unset.

from __future__ import annotations

import asyncio
import logging

from maintenance import WorkRequest, WorkRequestStatus, from_alert
from models import Alert
from opcua_server.alarms import AlarmManager
from opcua_server.alarms.maintenance import (
    MaintenanceMethod,
    MaintenanceStage,
    PlannedMaintenance,
    ReplacedPart,
)

log = logging.getLogger(__name__)

STAGE_OF: dict[WorkRequestStatus, MaintenanceStage] = {
    WorkRequestStatus.OPEN: MaintenanceStage.PLANNED,
    WorkRequestStatus.ON_HOLD: MaintenanceStage.PLANNED,
    WorkRequestStatus.IN_PROGRESS: MaintenanceStage.EXECUTING,
    WorkRequestStatus.COMPLETED: MaintenanceStage.FINISHED,
    WorkRequestStatus.CLOSED: MaintenanceStage.FINISHED,
}
"""A work request's status as an AMB MaintenanceState (on hold: still to be done)."""


def planned_for_request(request: WorkRequest) -> PlannedMaintenance:
    """The planned maintenance a work request describes."""
    serial = request.closure.part_serial if request.closure is not None else ""
    return PlannedMaintenance(
        stage=STAGE_OF[request.status],
        planned_date=request.due_date,
        method=MaintenanceMethod.LOCAL,
        parts_replaced=(ReplacedPart(serial),) if serial else (),
    )


def planned_for_alert(alert: Alert) -> PlannedMaintenance:
    """The maintenance an alert plans: what its work request, opened next, will say."""
    return planned_for_request(from_alert(alert, alert.updated_at))


class WorkRequestAlarms:
    """Watches the work requests: each change moves its alarm's planned maintenance along.

    Called from any thread (the closure receiver's too); the alarm is changed on ``loop``.
    """

    def __init__(self, alarms: AlarmManager, loop: asyncio.AbstractEventLoop) -> None:
        self._alarms = alarms
        self._loop = loop
        self._pending: set[asyncio.Task[None]] = set()

    def __call__(self, request: WorkRequest) -> None:
        self._loop.call_soon_threadsafe(self._start, request)

    async def settled(self) -> None:
        """Wait until every change handed over so far is on its alarm."""
        while self._pending:
            await asyncio.gather(*self._pending)

    def _start(self, request: WorkRequest) -> None:
        task = self._loop.create_task(self._plan(request), name=f"plan-{request.id}")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _plan(self, request: WorkRequest) -> None:
        try:
            await self._alarms.plan_maintenance(
                request.asset, request.component, planned_for_request(request)
            )
        except Exception:
            log.exception("the alarm of work request %s could not show its progress", request.id)
