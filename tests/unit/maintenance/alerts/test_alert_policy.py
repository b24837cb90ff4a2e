"""The alert policy on hand-made score sequences: thresholds, hysteresis, duration, lead time."""

from __future__ import annotations

import math

from config.settings import SparePart
from maintenance.alert_policy import (
    Action,
    ActiveAlert,
    AlertPolicy,
    ClearReason,
    Decision,
    Replacement,
    summarise,
)
from maintenance.catalogue import Catalogue
from models import HealthState
from tests.unit.maintenance.alerts.policy_kit import (
    BEARING,
    BEARING_PART,
    DESIGN,
    IMPELLER,
    MILL,
    PUMP,
    SETTINGS,
    at,
    degrading,
    every_minute,
    observation,
)


def hours_after_t0(decision: Decision) -> float:
    return round((decision.ts - at(0)).total_seconds() / 3600, 2)


def test_a_spike_shorter_than_the_minimum_duration_raises_nothing() -> None:
    policy = AlertPolicy(SETTINGS)
    spike = every_minute(0, 9, anomaly=5.0)  # 8 minutes above, 10 needed
    assert policy.observe_all([*spike, *every_minute(9, 30, anomaly=0.5)]) == []
    assert policy.active() == []


def test_a_lasting_condition_raises_one_warning_after_the_minimum_duration() -> None:
    policy = AlertPolicy(SETTINGS)
    decisions = policy.observe_all(every_minute(0, 60, anomaly=2.5))
    assert [(d.action, d.ts) for d in decisions] == [(Action.RAISE, at(10))]
    raised = decisions[0]
    assert (raised.level, raised.severity, raised.order) == (HealthState.WARNING, 500, False)
    assert raised.top_contributors == ("vibration_rms", "spindle_temp")
    assert policy.active() == [ActiveAlert(MILL, BEARING, HealthState.WARNING)]


def test_a_dip_restarts_the_minimum_duration() -> None:
    policy = AlertPolicy(SETTINGS)
    scores = [*every_minute(0, 8, 2.5), observation(8, 1.5), *every_minute(9, 12, 2.5)]
    decisions = policy.observe_all(scores)
    assert [d.ts for d in decisions] == [at(19)]


def test_hysteresis_keeps_the_alert_until_the_score_stays_below_clear_below() -> None:
    policy = AlertPolicy(SETTINGS)
    raised = policy.observe_all(every_minute(0, 11, 2.5))
    between = policy.observe_all(every_minute(11, 60, 1.5))  # under warning, over clear
    brief_recovery = policy.observe_all(every_minute(71, 5, 0.5))
    back_up = policy.observe_all(every_minute(76, 5, 1.5))
    recovery = policy.observe_all(every_minute(81, 11, 0.5))
    assert [d.action for d in raised] == [Action.RAISE]
    assert between == brief_recovery == back_up == []
    assert [(d.action, d.ts, d.clear_reason) for d in recovery] == [
        (Action.CLEAR, at(91), ClearReason.RECOVERED)
    ]
    assert recovery[0].summary == "Spindle bearing of mill-1 is back to normal."
    assert policy.active() == []


def test_an_alert_escalates_to_alarm_once_and_never_back() -> None:
    policy = AlertPolicy(SETTINGS)
    brief = [*every_minute(0, 11, 2.5), *every_minute(11, 5, 4.5), *every_minute(16, 5, 2.5)]
    lasting = [*every_minute(21, 11, 4.5), *every_minute(32, 5, 2.5)]
    decisions = policy.observe_all([*brief, *lasting])
    assert [(d.action, d.level, d.severity, d.ts) for d in decisions] == [
        (Action.RAISE, HealthState.WARNING, 500, at(10)),
        (Action.UPDATE, HealthState.ALARM, 800, at(31)),
    ]
    assert policy.active()[0].level is HealthState.ALARM


def test_the_order_is_due_when_rul_low_reaches_lead_time_plus_margin_and_comes_once() -> None:
    policy = AlertPolicy(SETTINGS)
    warning = policy.observe_all(every_minute(0, 11, 2.5, rul_low=150.0))
    above = policy.observe_all(every_minute(11, 20, 2.5, rul_low=85.0))
    due = policy.observe_all(every_minute(31, 30, 2.5, rul_low=84.0))
    later = policy.observe_all(every_minute(61, 30, 4.5, rul_low=20.0))
    assert [d.order for d in warning] == [False]
    assert above == []
    assert [(d.action, d.ts, d.order, d.level) for d in due] == [
        (Action.UPDATE, at(41), True, HealthState.ALARM)
    ]
    assert due[0].part == BEARING_PART
    assert later == []
    assert policy.active() == [ActiveAlert(MILL, BEARING, HealthState.ALARM, ordered=True)]


def test_a_falling_rul_alone_raises_an_alarm_with_its_order() -> None:
    policy = AlertPolicy(SETTINGS)
    decisions = policy.observe_all(every_minute(0, 30, anomaly=0.3, rul_low=70.0))
    assert [(d.action, d.level, d.order, d.ts) for d in decisions] == [
        (Action.RAISE, HealthState.ALARM, True, at(10))
    ]
    assert decisions[0].summary == (
        "Spindle bearing of mill-1 is wearing: vibration_rms and spindle_temp deviating; "
        "remaining life 70–140 h, below the 60 h lead time + 24 h margin."
    )


def test_a_recovered_rul_clears_only_past_the_rul_hysteresis() -> None:
    policy = AlertPolicy(SETTINGS)
    policy.observe_all(every_minute(0, 11, 0.3, rul_low=70.0))
    inside = policy.observe_all(every_minute(11, 20, 0.3, rul_low=100.0))  # ≤ 84 + 24
    outside = policy.observe_all(every_minute(31, 11, 0.3, rul_low=120.0))
    assert inside == []
    assert [d.action for d in outside] == [Action.CLEAR]


def test_a_component_without_a_spare_part_alerts_but_never_orders() -> None:
    policy = AlertPolicy(SETTINGS)
    decisions = policy.observe_all(
        every_minute(0, 40, 4.5, rul_low=5.0, machine=PUMP, component=IMPELLER)
    )
    assert [(d.action, d.order, d.part) for d in decisions] == [(Action.RAISE, False, None)]
    assert decisions[0].summary.endswith("remaining life 5.0–10 h; no spare part in the catalogue.")


def test_a_replacement_clears_the_alert_and_older_scores_are_ignored() -> None:
    policy = AlertPolicy(SETTINGS)
    policy.observe_all(every_minute(0, 11, 4.5, rul_low=50.0))
    cleared = policy.replaced(Replacement(MILL, BEARING, at(30)))
    assert cleared is not None
    assert (cleared.action, cleared.clear_reason) == (Action.CLEAR, ClearReason.REPLACED)
    assert cleared.summary == "Spindle bearing of mill-1 was replaced."
    assert policy.observe_all(every_minute(20, 10, 4.5, rul_low=50.0)) == []  # before the swap
    again = policy.observe_all(every_minute(31, 11, 4.5, rul_low=50.0))
    assert [(d.action, d.ts, d.order) for d in again] == [(Action.RAISE, at(41), True)]


def test_a_replacement_without_an_alert_decides_nothing_and_restarts_the_timers() -> None:
    policy = AlertPolicy(SETTINGS)
    policy.observe_all(every_minute(0, 8, 4.5))
    assert policy.replaced(Replacement(MILL, BEARING, at(8))) is None
    assert policy.observe_all(every_minute(9, 5, 4.5)) == []


def test_a_policy_rebuilt_from_open_alerts_neither_raises_again_nor_orders_twice() -> None:
    ordered = ActiveAlert(MILL, BEARING, HealthState.ALARM, ordered=True)
    policy = AlertPolicy(SETTINGS, active=[ordered])
    assert policy.observe_all(every_minute(0, 60, 4.5, rul_low=10.0)) == []
    not_yet = AlertPolicy(SETTINGS, active=[ActiveAlert(MILL, BEARING, HealthState.WARNING)])
    decisions = not_yet.observe_all(every_minute(0, 60, 4.5, rul_low=10.0))
    assert [(d.action, d.level, d.order, d.ts) for d in decisions] == [
        (Action.UPDATE, HealthState.ALARM, True, at(10))
    ]


def test_scores_that_are_not_numbers_or_not_newer_are_ignored() -> None:
    policy = AlertPolicy(SETTINGS)
    policy.observe_all(every_minute(0, 5, 4.5))
    assert policy.observe(observation(5, math.nan)) is None
    assert policy.observe(observation(3, 4.5)) is None  # replayed
    decisions = policy.observe_all(every_minute(6, 5, 4.5))
    assert [d.ts for d in decisions] == [at(10)]


def test_a_machines_own_catalogue_entry_wins_over_the_site_wide_one() -> None:
    own = SparePart(component=BEARING, machine=MILL, design_id="mill-bearing", print_hours=100)
    catalogue = Catalogue([BEARING_PART, own])
    assert catalogue.part_for(MILL, BEARING) == own
    assert catalogue.part_for("mill-2", BEARING) == BEARING_PART
    assert catalogue.lead_time_h(PUMP, IMPELLER) is None
    policy = AlertPolicy(SETTINGS, catalogue)
    decisions = policy.observe_all(every_minute(0, 11, 0.3, rul_low=120.0))  # ≤ 100 + 24
    assert [(d.order, d.part.design_id if d.part else "") for d in decisions] == [
        (True, "mill-bearing")
    ]


def test_a_degrading_machine_gets_one_warning_one_alarm_and_one_order_in_time() -> None:
    policy = AlertPolicy(SETTINGS)
    decisions = policy.observe_all(degrading(hours=60))
    assert [(d.action, d.level, d.order, hours_after_t0(d)) for d in decisions] == [
        (Action.RAISE, HealthState.WARNING, False, 15.17),
        (Action.UPDATE, HealthState.ALARM, False, 35.17),
        (Action.UPDATE, HealthState.ALARM, True, 45.17),
    ]
    order = decisions[-1]
    assert order.rul_low is not None
    assert order.rul_low <= 84.0
    assert order.part == BEARING_PART
    assert order.part.design_id == DESIGN


def test_summaries_read_as_one_plain_sentence() -> None:
    assert summarise(MILL, BEARING, HealthState.WARNING, (), None, None, None, 24.0) == (
        "Spindle bearing of mill-1 behaves abnormally: no single signal stands out; "
        "remaining life unknown; no spare part in the catalogue."
    )
    pump = ("press-1", "hydraulic_pump", HealthState.ALARM, ("oil_temp",))
    assert summarise(*pump, 300.0, None, BEARING_PART, 24.0) == (
        "Hydraulic pump of press-1 is wearing: oil_temp deviating; "
        "remaining life at least 300 h, above the 60 h lead time + 24 h margin."
    )
    assert summarise(
        MILL, BEARING, HealthState.ALARM, ("a", "b", "c"), None, None, BEARING_PART, 12.0
    ) == (
        "Spindle bearing of mill-1 is wearing: a, b and c deviating; "
        "remaining life unknown; the spare part needs the 60 h lead time + 12 h margin."
    )


def test_an_order_point_reached_before_the_raise_counts_from_when_it_was_reached() -> None:
    policy = AlertPolicy(SETTINGS)
    decisions = policy.observe_all(
        [*every_minute(0, 5, 2.5, rul_low=150.0), *every_minute(5, 20, 2.5, rul_low=80.0)]
    )
    assert [(d.action, d.level, d.order, d.ts) for d in decisions] == [
        (Action.RAISE, HealthState.WARNING, False, at(10)),
        (Action.UPDATE, HealthState.ALARM, True, at(15)),
    ]
