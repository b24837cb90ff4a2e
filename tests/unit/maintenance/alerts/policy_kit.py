"""Shared builders of the alert tests: settings with a spare part, scores, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

from config.alerting import AlertTuning
from config.settings import MaintenanceSettings, SparePart
from maintenance.alert_policy import Observation
from models import HealthScore

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
MILL = "mill-1"
BEARING = "spindle_bearing"
PUMP = "pump-1"
IMPELLER = "impeller"
DESIGN = "bearing-housing"
SIGNALS = ("vibration_rms", "spindle_temp")

BEARING_PART = SparePart(
    component=BEARING, design_id=DESIGN, print_hours=40.0, logistics_hours=20.0
)
"""Lead time 60 h; with the 24 h margin the order point is RUL low ≤ 84 h."""

RAW = AlertTuning(anomaly_hold_s=0.0, rul_veto_factor=0.0, settling_s=0.0, budget_per_month=0)
"""No calibration: every raise condition that holds ``min_duration_s`` raises."""

SETTINGS = MaintenanceSettings(
    warning_above=2.0,
    alarm_above=4.0,
    clear_below=1.0,
    min_duration_s=600.0,
    margin_h=24.0,
    rul_hysteresis_h=24.0,
    spare_parts=(BEARING_PART,),
    alerting=RAW,
)
"""The policy's raw mechanics: thresholds, durations, hysteresis, the order point."""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def observation(
    minutes: float,
    anomaly: float,
    rul_low: float | None = None,
    rul_high: float | None = None,
    *,
    machine: str = MILL,
    component: str = BEARING,
    signals: Sequence[str] = SIGNALS,
) -> Observation:
    """A score of ``machine``'s ``component`` at T0 + ``minutes``."""
    high = rul_high if rul_high is not None or rul_low is None else rul_low * 2
    score = HealthScore(
        machine=machine,
        ts=at(minutes),
        anomaly_score=anomaly,
        rul=None if rul_low is None else (rul_low + (high or rul_low)) / 2,
        rul_low=rul_low,
        rul_high=high,
        top_contributors=tuple(signals),
    )
    return Observation(score, component)


def every_minute(
    start: float,
    count: int,
    anomaly: float,
    rul_low: float | None = None,
    *,
    machine: str = MILL,
    component: str = BEARING,
) -> list[Observation]:
    """``count`` scores a minute apart from T0 + ``start`` minutes, all alike."""
    return [
        observation(start + i, anomaly, rul_low, machine=machine, component=component)
        for i in range(count)
    ]


def degrading(start_h: float = 0.0, hours: int = 60) -> Iterator[Observation]:
    """A bearing wearing out, scored every ten minutes from T0 + ``start_h`` hours.

    The anomaly score rises 0.1 an hour from 0.5 (a warning after 15 h, an alarm after 35 h);
    the RUL band is 0.8–1.2 × (150 h − elapsed), so its low edge reaches the 84 h order point
    after 45 h.
    """
    for step in range(hours * 6):
        elapsed_h = step / 6
        life = 150.0 - elapsed_h
        yield observation((start_h + elapsed_h) * 60, 0.5 + 0.1 * elapsed_h, 0.8 * life, 1.2 * life)


WEAR = list(degrading(hours=60))
"""Warning after 15 h 10 min, alarm after 35 h 10 min, order after 45 h 10 min."""
BEFORE_ORDER, AFTER_ORDER = 44 * 6, 46 * 6
"""Indices into WEAR: the scores of the first 44 h, and of the first 46 h."""
