"""Alert tuning: how much evidence an anomaly needs before planners hear of it."""

from __future__ import annotations

from pydantic import Field

from models import ConfigRecord


class AlertTuning(ConfigRecord):
    """Calibrated alerting (``maintenance.alerting``).

    These rules only hold back alerts that rest on the anomaly score alone. An alert whose
    spare part is due (the RUL band's lower edge at the part's lead time + margin) is never
    held back: it raises after ``min_duration_s`` as before. Every alert held back is logged
    with its reason (`trustfloor alerts --suppressed`).
    """

    anomaly_hold_s: float = Field(
        3600.0,
        ge=0,
        le=30 * 86_400,
        description="an anomaly-only alert needs its score above warning_above this long "
        "(or min_duration_s when that is longer)",
    )
    rul_veto_factor: float = Field(
        2.0,
        ge=0,
        le=1000,
        description="an anomaly-only alert is held back while the RUL band's lower edge is "
        "above this many times the part's order point (lead time + margin); 0: never",
    )
    settling_s: float = Field(
        6 * 3600.0,
        ge=0,
        le=30 * 86_400,
        description="after a repair or a model change, anomaly-only alerts are held back "
        "this long while the machine settles on its fresh baseline",
    )
    budget_per_month: int = Field(
        2,
        ge=0,
        le=10_000,
        description="anomaly-only alerts a machine may raise per budget window; more are "
        "held back; 0: no budget",
    )
    budget_window_s: float = Field(
        30 * 86_400.0, gt=0, le=366 * 86_400, description="the window the budget counts over"
    )
