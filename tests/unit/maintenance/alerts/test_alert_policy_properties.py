"""Properties of the alert policy over any score sequence: one alert per component, one order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from maintenance.alert_policy import (
    Action,
    ActiveAlert,
    AlertPolicy,
    Decision,
    Observation,
    Replacement,
    order_point_h,
)
from models import HealthScore
from tests.unit.maintenance.alerts.policy_kit import (
    BEARING,
    BEARING_PART,
    IMPELLER,
    MILL,
    PUMP,
    SETTINGS,
    T0,
)

KEYS = ((MILL, BEARING), (PUMP, IMPELLER), (PUMP, BEARING))
"""Two components with a spare part, one without."""


@dataclass
class Planner:
    """Executes decisions as the alert service does, checking each against the alerts it has."""

    open: dict[tuple[str, str], int] = field(default_factory=dict)
    orders: Counter[int] = field(default_factory=Counter)
    alerts: int = 0

    def apply(self, decision: Decision) -> None:
        key = (decision.machine, decision.component)
        if decision.action is Action.RAISE:
            assert key not in self.open, f"second active alert for {key}"
            self.alerts += 1
            self.open[key] = self.alerts
        else:
            assert key in self.open, f"{decision.action} without an active alert for {key}"
        if decision.order:
            point = order_point_h(decision.part, decision.margin_h)
            assert point is not None
            assert decision.rul_low is not None
            assert decision.rul_low <= point
            self.orders[self.open[key]] += 1
            assert self.orders[self.open[key]] == 1, f"second order for alert of {key}"
        if decision.action is Action.CLEAR:
            del self.open[key]

    def remembered(self, policy: AlertPolicy) -> list[ActiveAlert]:
        """What a restarted service hands the new policy: the open alerts, as stored."""
        levels = {(a.machine, a.component): a.level for a in policy.active()}
        return [
            ActiveAlert(*key, levels[key], ordered=self.orders[alert] > 0)
            for key, alert in self.open.items()
        ]


@dataclass(frozen=True)
class Score:
    key: tuple[str, str]
    minutes: int
    """Since the previous event; 0 replays the same timestamp."""
    anomaly: float
    rul_low: float | None
    repeat: int = 1
    """The same score this many times, ``minutes`` apart (a lasting condition)."""


@dataclass(frozen=True)
class Swap:
    key: tuple[str, str]
    minutes: int


minutes = st.integers(min_value=0, max_value=15)
keys = st.sampled_from((*KEYS, KEYS[0], KEYS[0]))
"""Mostly the bearing of mill-1, so its conditions often last long enough to act."""
anomalies = st.one_of(st.sampled_from([0.5, 1.5, 2.5, 4.5]), st.floats(0.0, 6.0))
rul_lows = st.one_of(st.none(), st.sampled_from([40.0, 84.0, 100.0, 150.0]), st.floats(0.0, 200.0))
scores = st.builds(Score, keys, minutes, anomalies, rul_lows, st.integers(1, 4))
events = st.lists(
    st.one_of(scores, scores, scores, scores, st.builds(Swap, keys, minutes)), max_size=120
)


def decide(policy: AlertPolicy, event: Score | Swap, now: datetime) -> Decision | None:
    machine, component = event.key
    if isinstance(event, Swap):
        return policy.replaced(Replacement(machine, component, now))
    score = HealthScore(
        machine=machine,
        ts=now,
        anomaly_score=event.anomaly,
        rul_low=event.rul_low,
        rul_high=event.rul_low,
    )
    return policy.observe(Observation(score, component))


def feed(events: list[Score | Swap], restart_at: int | None) -> None:
    """Apply ``events``, restarting the policy from the open alerts before ``restart_at``."""
    policy = AlertPolicy(SETTINGS)
    planner = Planner()
    now = T0
    for index, event in enumerate(events):
        if index == restart_at:
            policy = AlertPolicy(SETTINGS, active=planner.remembered(policy))
        for _ in range(event.repeat if isinstance(event, Score) else 1):
            now += timedelta(minutes=event.minutes)
            decision = decide(policy, event, now)
            if decision is not None:
                planner.apply(decision)
            assert {(a.machine, a.component) for a in policy.active()} == set(planner.open)


@settings(max_examples=300, deadline=None)
@given(events)
def test_no_sequence_gives_a_component_two_active_alerts_or_an_alert_two_orders(
    events: list[Score | Swap],
) -> None:
    feed(events, restart_at=None)


@settings(max_examples=300, deadline=None)
@given(events, st.integers(min_value=0, max_value=120))
def test_a_restart_rebuilt_from_the_open_alerts_keeps_both_promises(
    events: list[Score | Swap], restart_at: int
) -> None:
    feed(events, restart_at=restart_at)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=6.0), min_size=1, max_size=60))
def test_nothing_is_raised_before_the_condition_held_the_minimum_duration(
    anomalies: list[float],
) -> None:
    """Scores a minute apart: a raise at minute m needs warnings at every minute m-10..m."""
    policy = AlertPolicy(SETTINGS)
    for minute, anomaly in enumerate(anomalies):
        score = HealthScore(machine=MILL, ts=T0 + timedelta(minutes=minute), anomaly_score=anomaly)
        decision = policy.observe(Observation(score, BEARING))
        if decision is not None and decision.action is Action.RAISE:
            window = anomalies[minute - 10 : minute + 1] if minute >= 10 else []
            assert len(window) == 11
            assert min(window) >= SETTINGS.warning_above
            return


def test_the_catalogue_part_of_the_bearing_sets_its_order_point() -> None:
    assert order_point_h(BEARING_PART, SETTINGS.margin_h) == 84.0
