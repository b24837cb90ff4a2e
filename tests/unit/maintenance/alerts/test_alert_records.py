"""Pure parts of alerts and notifications: settings checks, the alert table, signing, backoff."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from config.settings import MaintenanceSettings, Settings, SparePart
from maintenance.alert_policy import AlertPolicy
from maintenance.alert_records import alarm_message, new_alert
from maintenance.alert_table import alert_rows, render_alert_table
from maintenance.notify import (
    Notification,
    Outcome,
    backoff_s,
    classify,
    encode,
    sign,
    verify,
)
from models import Alert, OrderState, PrintOrder
from tests.unit.maintenance.alerts.policy_kit import BEARING_PART, SETTINGS, T0, every_minute


def raised_alert() -> Alert:
    decisions = AlertPolicy(SETTINGS).observe_all(every_minute(0, 11, 0.3, rul_low=70.0))
    return new_alert("AL-000007", decisions[0])


def test_thresholds_must_leave_room_for_hysteresis() -> None:
    with pytest.raises(ValidationError, match="clear_below < warning_above <= alarm_above"):
        MaintenanceSettings(clear_below=2.0, warning_above=2.0)
    with pytest.raises(ValidationError, match="warning_severity"):
        MaintenanceSettings(warning_severity=900, alarm_severity=800)


def test_one_spare_part_per_machine_and_component() -> None:
    with pytest.raises(ValidationError, match=r"\['\*/spindle_bearing'\] repeat"):
        MaintenanceSettings(spare_parts=(BEARING_PART, BEARING_PART))
    own = BEARING_PART.model_copy(update={"machine": "mill-1"})
    assert len(MaintenanceSettings(spare_parts=(BEARING_PART, own)).spare_parts) == 2


def test_the_maintenance_section_reads_from_toml_shaped_data() -> None:
    settings = Settings.model_validate(
        {
            "maintenance": {
                "scoring_interval_s": 30,
                "margin_h": 12,
                "spare_parts": [
                    {
                        "component": "spindle_bearing",
                        "design_id": "bearing-housing",
                        "print_hours": 18,
                        "logistics_hours": 30,
                    }
                ],
                "webhook": {"url": "https://planner.example/hooks/trustfloor"},
            }
        }
    )
    part = settings.maintenance.spare_parts[0]
    assert part.lead_time_h == 48.0
    assert settings.maintenance.webhook is not None
    assert settings.maintenance.webhook.secret_env == "TRUSTFLOOR_WEBHOOK_SECRET"
    with pytest.raises(ValidationError):
        SparePart(component="x", design_id="bad id", print_hours=1)


def test_an_alert_row_shows_band_lead_time_and_order() -> None:
    alert = raised_alert().model_copy(update={"order_id": "PO-000003"})
    order = PrintOrder(
        id="PO-000003",
        design_id="bearing-housing",
        quantity=1,
        state=OrderState.DISPATCHED,
        created_at=T0,
        updated_at=T0,
        alert_id=alert.id,
    )
    rows = alert_rows([alert], {order.id: order})
    assert (rows[0].order_state, rows[0].lead_time_h, rows[0].rul_low_h) == ("dispatched", 60, 70)
    assert render_alert_table(rows).splitlines() == [
        "ALERT      MACHINE  COMPONENT        LEVEL  STATE   RUL h   LEAD h  ORDER"
        "                   RAISED",
        "AL-000007  mill-1   spindle_bearing  alarm  active  70–140  60+24   PO-000003 (dispatched)"
        "  2026-11-22 08:10 UTC",
        "  Spindle bearing of mill-1 is wearing: vibration_rms and spindle_temp deviating; "
        "remaining life 70–140 h, below the 60 h lead time + 24 h margin. "
        "Print order PO-000003 raised for bearing-housing.",
    ]
    assert render_alert_table([]) == "no active alerts"


def test_the_alarm_says_why_there_is_no_order() -> None:
    alert = raised_alert().model_copy(update={"order_error": "no design 'bearing-housing'"})
    assert alarm_message(alert).endswith("No print order: no design 'bearing-housing'")
    assert alert_rows([alert], {})[0].order_state == "failed"


def test_the_body_is_canonical_json_and_its_signature_checks() -> None:
    note = Notification("AL-000001:alert.raised", "alert.raised", {"alert": {"id": "AL-000001"}})
    body = encode(note)
    assert body == (
        b'{"alert":{"id":"AL-000001"},"event":"alert.raised",'
        b'"idempotency_key":"AL-000001:alert.raised"}'
    )
    assert json.loads(body)["event"] == "alert.raised"
    signature = sign(b"s3cret", body)
    assert verify(b"s3cret", body, signature)
    assert not verify(b"other", body, signature)
    assert not verify(b"s3cret", body + b" ", signature)


def test_rfc_4231_test_case_2_signs_as_published() -> None:
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert sign(b"Jefe", b"what do ya want for nothing?") == f"sha256={expected}"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (301, Outcome.REFUSED),
        (400, Outcome.REFUSED),
        (401, Outcome.REFUSED),
        (408, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_statuses_sort_into_delivered_retry_and_refused(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_s(n, 5.0, 60.0) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff_s(10_000, 5.0, 60.0) == 60.0
