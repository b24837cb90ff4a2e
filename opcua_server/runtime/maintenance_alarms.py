"""Alerts and work requests as their alarms' planned maintenance (OPC 10000-110 AMB fields)."""

# The work request is the plan: its due date is PlannedDate, its status where the work stands
# (MaintenanceState), the serial of the part its closure fitted is PartsOfAssetReplaced. Every
# work request is a component of a machine repaired or replaced at the machine, so the method
# is Local. EstimatedDowntime is the catalogue part's fitting time, left unset when the
# catalogue does not give one.

from __future__ import annotations

import asyncio
import logging

from maintenance import Catalogue, WorkRequest, WorkRequestStatus, from_alert
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
MS_PER_HOUR = 3_600_000.0


class MaintenancePlans:
    """What the site knows of the maintenance its alerts and work requests ask for."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        self._catalogue = catalogue or Catalogue()

    def for_request(self, request: WorkRequest) -> PlannedMaintenance:
        """The planned maintenance a work request describes."""
        serial = request.closure.part_serial if request.closure is not None else ""
        return PlannedMaintenance(
            stage=STAGE_OF[request.status],
            planned_date=request.due_date,
            estimated_downtime_ms=self._fitting_ms(request.asset, request.component),
            method=MaintenanceMethod.LOCAL,
            parts_replaced=(ReplacedPart(serial),) if serial else (),
        )

    def for_alert(self, alert: Alert) -> PlannedMaintenance:
        """The maintenance an alert plans: what its work request, opened next, will say."""
        return self.for_request(from_alert(alert, alert.updated_at))

    def _fitting_ms(self, machine: str, component: str) -> float | None:
        """OPC UA Duration of fitting the component's spare part; None when not known."""
        part = self._catalogue.part_for(machine, component)
        if part is None or part.fitting_hours is None:
            return None
        return part.fitting_hours * MS_PER_HOUR


class WorkRequestAlarms:
    """Watches the work requests: each change moves its alarm's planned maintenance along.

    Called from any thread (the closure receiver's too); the alarm is changed on ``loop``.
    """

    def __init__(
        self,
        alarms: AlarmManager,
        loop: asyncio.AbstractEventLoop,
        plans: MaintenancePlans | None = None,
    ) -> None:
        self._alarms = alarms
        self._loop = loop
        self._plans = plans or MaintenancePlans()
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
                request.asset, request.component, self._plans.for_request(request)
            )
        except Exception:
            log.exception("the alarm of work request %s could not show its progress", request.id)
