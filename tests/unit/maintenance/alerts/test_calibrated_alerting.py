"""Calibrated alerting: persistent evidence, the RUL veto, settling, budgets, what is held back."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from config.alerting import AlertTuning
from maintenance.alert_policy import Action, AlertPolicy, Observation, Replacement, SuppressReason
from maintenance.alert_store import AlertStore
from maintenance.alerts import AlertService
from maintenance.orders import SqliteOrderBook
from models import HealthState, ManualClock
from tests.unit.maintenance.alerts.policy_kit import (
    BEARING,
    MILL,
    RAW,
    SETTINGS,
    at,
    every_minute,
)

TUNED = SETTINGS.model_copy(
    update={
        "alerting": AlertTuning(
            anomaly_hold_s=1800.0,
            rul_veto_factor=2.0,
            settling_s=3600.0,
            budget_per_month=2,
            budget_window_s=30 * 86_400.0,
        )
    }
)
"""Anomaly-only alerts need 30 min; vetoed while RUL low > 2 × 84 h = 168 h; 1 h settling."""


def only(tuning: dict[str, float]) -> AlertPolicy:
    """A policy with the raw mechanics plus the one calibration rule given."""
    return AlertPolicy(SETTINGS.model_copy(update={"alerting": RAW.model_copy(update=tuning)}))


def actions(policy: AlertPolicy, scores: list[Observation]) -> list[tuple[Action, float]]:
    """(action, minutes after T0) of each decision."""
    return [(d.action, (d.ts - at(0)).total_seconds() / 60) for d in policy.observe_all(scores)]


def versioned(scores: list[Observation], version: str) -> list[Observation]:
    return [replace(o, score=o.score.model_copy(update={"model_version": version})) for o in scores]


def test_an_anomaly_alone_raises_only_once_its_evidence_has_persisted() -> None:
    policy = only({"anomaly_hold_s": 1800.0})
    assert actions(policy, every_minute(0, 25, 2.5)) == []  # 24 minutes: not yet
    assert actions(policy, every_minute(25, 10, 2.5)) == [(Action.RAISE, 30.0)]


def test_a_confident_long_rul_vetoes_an_anomaly_alert_and_says_so_once() -> None:
    policy = only({"rul_veto_factor": 2.0})
    decisions = policy.observe_all(every_minute(0, 60, 4.5, rul_low=300.0))
    assert [(d.action, d.suppressed, d.level) for d in decisions] == [
        (Action.SUPPRESS, SuppressReason.RUL_VETO, HealthState.ALARM)
    ]
    assert decisions[0].summary.endswith(
        "Held back: the RUL band's lower edge is above 168 h (2 × the order point)."
    )
    assert policy.active() == []


def test_a_short_rul_band_does_not_veto_the_anomaly() -> None:
    policy = only({"rul_veto_factor": 2.0})
    assert actions(policy, every_minute(0, 20, 2.5, rul_low=150.0)) == [(Action.RAISE, 10.0)]


def test_a_repaired_machine_settles_before_an_anomaly_alerts_again() -> None:
    policy = only({"settling_s": 3600.0})
    policy.replaced(Replacement(MILL, BEARING, at(0)))
    settling = policy.observe_all(every_minute(1, 58, 2.5))
    assert [(d.action, d.suppressed) for d in settling] == [
        (Action.SUPPRESS, SuppressReason.SETTLING)
    ]
    assert actions(policy, every_minute(59, 5, 2.5)) == [(Action.RAISE, 60.0)]


def test_a_part_due_is_never_held_back_even_while_settling() -> None:
    policy = AlertPolicy(TUNED)
    policy.replaced(Replacement(MILL, BEARING, at(0)))
    decisions = policy.observe_all(every_minute(1, 20, 4.5, rul_low=50.0))
    assert [(d.action, d.order) for d in decisions] == [(Action.RAISE, True)]


def test_a_new_model_starts_a_settling_period() -> None:
    policy = only({"settling_s": 3600.0})
    assert policy.observe_all(versioned(every_minute(0, 5, 0.5), "rul-mill v1")) == []
    after_change = policy.observe_all(versioned(every_minute(5, 30, 2.5), "rul-mill v2"))
    assert [(d.action, d.suppressed) for d in after_change] == [
        (Action.SUPPRESS, SuppressReason.SETTLING)
    ]


def test_a_spent_budget_holds_back_anomalies_but_not_a_part_due() -> None:
    policy = only({"budget_per_month": 2})
    for hour in (0, 2):
        raised = actions(policy, every_minute(hour * 60, 11, 2.5))
        cleared = actions(policy, every_minute(hour * 60 + 11, 11, 0.5))
        assert [a for a, _ in raised + cleared] == [Action.RAISE, Action.CLEAR]
    third = policy.observe_all(every_minute(300, 20, 2.5))
    assert [(d.action, d.suppressed) for d in third] == [(Action.SUPPRESS, SuppressReason.BUDGET)]
    assert policy.budget(MILL, at(320)).raised == 2
    due = policy.observe_all(every_minute(320, 20, 2.5, rul_low=50.0))
    assert [(d.action, d.order) for d in due] == [(Action.RAISE, True)]


def test_the_budget_renews_after_its_window() -> None:
    policy = only({"budget_per_month": 1, "budget_window_s": 3600.0})
    assert [a for a, _ in actions(policy, every_minute(0, 11, 2.5))] == [Action.RAISE]
    actions(policy, every_minute(11, 11, 0.5))
    assert [a for a, _ in actions(policy, every_minute(30, 11, 2.5))] == [Action.SUPPRESS]
    actions(policy, every_minute(41, 11, 0.5))
    assert [a for a, _ in actions(policy, every_minute(80, 11, 2.5))] == [Action.RAISE]


async def test_held_back_alerts_are_logged_with_why_and_budgets_survive_a_restart(
    tmp_path: Path,
) -> None:
    settings = SETTINGS.model_copy(
        update={"alerting": RAW.model_copy(update={"budget_per_month": 1})}
    )

    async def started() -> tuple[AlertService, SqliteOrderBook]:
        clock = ManualClock(at(0) + timedelta(hours=1))
        store = AlertStore(tmp_path / "alerts.sqlite")
        orders = SqliteOrderBook(tmp_path / "orders.sqlite", clock=clock)
        return await AlertService.start(store, orders, settings, clock=clock), orders

    service, orders = await started()
    await service.observe(every_minute(0, 11, 2.5))
    await service.observe(every_minute(11, 11, 0.5))
    service.close()
    await orders.close()

    service, orders = await started()  # the budget is counted from the stored alerts
    assert await service.observe(every_minute(30, 30, 2.5, rul_low=150.0)) == []
    held = await service.held_back()
    assert [(h.machine, h.reason, h.ts) for h in held] == [(MILL, "budget", at(40))]
    assert held[0].summary.startswith("Spindle bearing of mill-1 behaves abnormally")
    assert held[0].summary.endswith(
        "Held back: the machine's budget of 1 alerts per 30 days is spent."
    )
    service.close()
    await orders.close()


def test_the_first_model_a_machine_is_scored_by_starts_a_settling_period() -> None:
    policy = only({"settling_s": 3600.0})
    first = policy.observe_all(versioned(every_minute(0, 30, 4.5), "anomaly-mill v1 (baseline)"))
    assert [(d.action, d.suppressed) for d in first] == [(Action.SUPPRESS, SuppressReason.SETTLING)]
    later = policy.observe_all(versioned(every_minute(30, 35, 4.5), "anomaly-mill v1 (baseline)"))
    assert [(d.action, d.ts) for d in later] == [(Action.RAISE, at(60))]
