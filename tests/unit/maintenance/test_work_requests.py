"""Work requests: the shipped JSON Schema, the status lifecycle, ISO 14224 closure codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from maintenance.work_requests import (
    Closure,
    WorkRequestStateError,
    WorkRequestStatus,
    closed,
    from_alert,
    moved,
    work_request_schema,
)
from models import Alert, HealthState

SCHEMA = Path(__file__).resolve().parents[3] / "maintenance/schemas/work_request.schema.json"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ALERT = Alert(
    id="AL-000042",
    machine="mill-1",
    component="spindle_bearing",
    level=HealthState.ALARM,
    severity=800,
    rul_low=70.0,
    rul_high=140.0,
    lead_time_h=60.0,
    margin_h=24.0,
    design_id="bearing-housing",
    order_id="PO-000007",
    top_contributors=("vibration_rms", "spindle_temp"),
    summary="Spindle bearing of mill-1 is wearing.",
    raised_at=NOW,
    updated_at=NOW,
)
CLOSURE = Closure(failure_mode="VIB", failure_mechanism="2.4", failure_cause="3.4", repaired_at=NOW)


def test_the_shipped_schema_is_the_one_the_records_generate() -> None:
    shipped = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert shipped == work_request_schema(), "regenerate: trustfloor maintenance schema > FILE"


def test_an_alert_becomes_a_work_request_with_its_band_signals_part_and_due_date() -> None:
    request = from_alert(ALERT, NOW)
    assert (request.id, request.asset, request.priority.value) == ("WR-000042", "mill-1", "HIGH")
    assert request.due_date == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # raised + RUL low 70 h
    assert "RUL band: 70–140 h." in request.description
    assert "Top signals: vibration_rms, spindle_temp." in request.description
    assert request.spare_part_order is not None
    assert request.spare_part_order.order_id == "PO-000007"


def test_the_status_follows_the_cmms_lifecycle() -> None:
    request = from_alert(ALERT, NOW)
    with pytest.raises(WorkRequestStateError, match="cannot become COMPLETED"):
        moved(request, WorkRequestStatus.COMPLETED, NOW)
    for status in ("IN_PROGRESS", "ON_HOLD", "IN_PROGRESS", "COMPLETED", "CLOSED"):
        request = moved(request, WorkRequestStatus(status), NOW)
    assert request.status is WorkRequestStatus.CLOSED
    assert request.revision == 6


def test_a_closure_closes_from_any_open_status_once() -> None:
    request = closed(from_alert(ALERT, NOW), CLOSURE, NOW)
    assert request.status is WorkRequestStatus.CLOSED
    assert closed(request, CLOSURE, NOW) is request  # the same closure again: nothing changes
    other = CLOSURE.model_copy(update={"part_serial": "SN-2"})
    with pytest.raises(WorkRequestStateError, match="already closed"):
        closed(request, other, NOW)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("failure_mode", "XYZ", "not an ISO 14224 failure mode code"),
        ("failure_mechanism", "7.1", "not an ISO 14224 failure mechanism code"),
        ("failure_cause", "3.9", "not an ISO 14224 failure cause code"),
        ("repaired_at", None, "give the failure time, the repair time, or both"),
    ],
)
def test_a_closure_needs_known_codes_and_a_time(field: str, value: object, message: str) -> None:
    document = {**CLOSURE.model_dump(), field: value}
    with pytest.raises(ValidationError, match=message):
        Closure.model_validate(document)
