"""The planned maintenance an alarm carries, in OPC 10000-110 IMaintenanceEventType terms; pure."""

# No asyncua here: the record is what the site knows of the maintenance an alarm asks for, in
# the terms of AMB §12 (OPC 10000-110 1.01): where the activity stands (MaintenanceState), when
# it is scheduled (PlannedDate), how long the asset will be down (EstimatedDowntime), which parts
# were replaced (PartsOfAssetReplaced) and how it is done (MaintenanceMethod). What the site does
# not know stays None: a field is never guessed. opcua_server.alarms.fields turns it into event
# fields.

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opcua_server.alarms.conditions import NodeRef


class MaintenanceStage(StrEnum):
    """The states of AMB MaintenanceEventStateMachineType (OPC 10000-110 §12.3)."""

    PLANNED = "Planned"
    EXECUTING = "Executing"
    FINISHED = "Finished"


class MaintenanceMethod(IntEnum):
    """AMB MaintenanceMethodEnum (OPC 10000-110 §12.6)."""

    LOCAL = 0
    """Maintenance close to the asset: fitting a spare part is."""
    REMOTE = 1


@dataclass(frozen=True, slots=True)
class ReplacedPart:
    """One part fitted into the asset: its serial, and its node when the server shows it."""

    serial: str
    node: NodeRef | None = None


@dataclass(frozen=True, slots=True)
class PlannedMaintenance:
    """The maintenance activity an alarm asks for, as far as the site knows it."""

    stage: MaintenanceStage
    planned_date: datetime | None = None
    """When the work is due (the work request's due date)."""
    estimated_downtime_ms: float | None = None
    """OPC UA Duration: milliseconds the asset is expected to be down; None when unknown."""
    method: MaintenanceMethod | None = None
    parts_replaced: tuple[ReplacedPart, ...] = ()


def replanned(
    current: PlannedMaintenance | None, fresh: PlannedMaintenance | None
) -> PlannedMaintenance | None:
    """``current`` after the alert that asked for it changed and planned ``fresh``.

    Replanning may move the date, the downtime and the method (OPC 10000-110 §12.2); where the
    work stands and the parts already fitted are kept, as only the work itself changes them.
    """
    if current is None or fresh is None:
        return fresh or current
    return PlannedMaintenance(
        stage=current.stage,
        planned_date=fresh.planned_date,
        estimated_downtime_ms=fresh.estimated_downtime_ms,
        method=fresh.method,
        parts_replaced=current.parts_replaced,
    )
