"""The demo's closing count: alerts on simulated machines that did not fail within the horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.simulated import MachineWear, TimeBase
from models import Alert, Component, ComponentKind, HealthState
from opcua_server.cli.console import render_summary
from opcua_server.runtime.summary import SiteSummary, failed_within_horizon

START = datetime(2026, 1, 1, tzinfo=UTC)
BEARING = Component(name="spindle_bearing", kind=ComponentKind.BEARING, mean_life_h=2000.0)
HORIZON = timedelta(hours=2 * (72.0 + 24.0))


def alert_at(raised: datetime) -> Alert:
    return Alert(
        id="AL-000001",
        machine="mill-1",
        component=BEARING.name,
        level=HealthState.WARNING,
        severity=500,
        lead_time_h=72.0,
        margin_h=24.0,
        raised_at=raised,
        updated_at=raised,
    )


def wearing() -> tuple[MachineWear, TimeBase, datetime]:
    timebase = TimeBase(START)
    wear = MachineWear("mill-1", [BEARING], timebase, seed=7)
    failure = wear.failure_time(BEARING.name, START)
    assert failure is not None
    return wear, timebase, failure


def test_an_alert_within_the_horizon_of_the_failure_is_not_counted() -> None:
    wear, timebase, failure = wearing()
    alert = alert_at(failure - HORIZON + timedelta(hours=1))
    assert failed_within_horizon(alert, wear, timebase, START)  # the simulator knows ahead
    assert failed_within_horizon(alert, wear, timebase, failure + timedelta(hours=1))


def test_an_alert_long_before_the_failure_counts_as_on_a_machine_that_did_not_fail() -> None:
    wear, timebase, failure = wearing()
    alert = alert_at(failure - HORIZON - timedelta(hours=1))
    assert not failed_within_horizon(alert, wear, timebase, START)
    assert not failed_within_horizon(alert, wear, timebase, failure + timedelta(hours=1))


def test_a_part_replaced_within_the_horizon_counts_as_a_failure_averted() -> None:
    wear, timebase, failure = wearing()
    raised = failure - HORIZON - timedelta(hours=50)
    wear.replace(BEARING.name, raised + timedelta(hours=100))
    assert failed_within_horizon(alert_at(raised), wear, timebase, raised + timedelta(hours=200))


def summary(without_failure: int | None) -> SiteSummary:
    return SiteSummary(
        simulated_h=360.0,
        machines=3,
        stopped=(),
        health={"normal": 3},
        alerts=(),
        orders={},
        parts_passed=0,
        parts_failed=0,
        batches_anchored=0,
        batches_pending=0,
        certificates_unanchored=0,
        licences={},
        repairs=None,
        alerts_without_failure=without_failure,
    )


def test_the_demo_summary_says_how_many_alerts_were_on_machines_that_did_not_fail() -> None:
    assert "alerts on machines that did not fail: 0" in render_summary(summary(0)).splitlines()[2]
    assert "did not fail" not in render_summary(summary(None))  # a real site: nobody knows
