"""Planned maintenance on alarm conditions: replanning keeps where the work stands; fields codec."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from asyncua import ua

from opcua_server.alarms.conditions import AlertInfo, activated, maintenance_changed
from opcua_server.alarms.fields import condition_fields, state_of
from opcua_server.alarms.maintenance import (
    MaintenanceMethod,
    MaintenanceStage,
    PlannedMaintenance,
    ReplacedPart,
    replanned,
)
from opcua_server.history.events import decode_fields, encode_fields

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
DUE = T0 + timedelta(hours=90)
CID = ua.NodeId("Alarms/m/c", 2)
AMB = 5


def plan(stage: MaintenanceStage, due: datetime = DUE) -> PlannedMaintenance:
    return PlannedMaintenance(stage, planned_date=due, method=MaintenanceMethod.LOCAL)


def alert(maintenance: PlannedMaintenance | None, severity: int = 700) -> AlertInfo:
    machine = ua.NodeId("Machines/m", 2)
    return AlertInfo("m", "c", severity, "msg", machine, "m", maintenance=maintenance)


def test_replanning_moves_the_date_and_keeps_the_stage_and_the_parts() -> None:
    fitted = replace(plan(MaintenanceStage.FINISHED), parts_replaced=(ReplacedPart("P-1"),))
    later = DUE + timedelta(hours=5)
    moved = replanned(fitted, plan(MaintenanceStage.PLANNED, later))
    assert moved == replace(fitted, planned_date=later)
    assert replanned(None, fitted) == fitted
    assert replanned(fitted, None) == fitted


def test_a_raise_on_an_active_condition_replans_and_a_new_occurrence_plans_afresh() -> None:
    first = activated(None, alert(plan(MaintenanceStage.PLANNED)), CID, T0, b"1")
    started = maintenance_changed(first, plan(MaintenanceStage.EXECUTING), T0, b"2")
    assert (started.active, started.acked, started.event_id) == (True, False, b"2")
    later = DUE + timedelta(hours=1)
    again = activated(started, alert(plan(MaintenanceStage.PLANNED, later), 900), CID, T0, b"3")
    assert again.maintenance == plan(MaintenanceStage.EXECUTING, later)


def test_maintenance_fields_round_trip_and_leave_the_unknown_out() -> None:
    state = activated(None, alert(plan(MaintenanceStage.EXECUTING)), CID, T0, b"1")
    fields = condition_fields(state, ua.NodeId("EventTypes/X", 2), AMB)
    assert fields["MaintenanceState/CurrentState"].Value == ua.LocalizedText("Executing")
    assert fields["MaintenanceState/CurrentState/Id"].Value == ua.NodeId(5007, AMB)
    assert fields["PlannedDate"].Value == DUE
    assert fields["MaintenanceMethod"].Value == 0
    assert "EstimatedDowntime" not in fields
    assert "PartsOfAssetReplaced" not in fields
    assert state_of(CID, "m", "c", decode_fields(encode_fields(fields))) == state
    without_amb = condition_fields(state, ua.NodeId("EventTypes/X", 2))
    assert "MaintenanceState/CurrentState" not in without_amb
