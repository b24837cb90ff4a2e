"""Health scores of machines and the maintenance alerts raised from them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from models.machines import Frozen


class HealthState(StrEnum):
    """A machine's condition as the alert policy sees it."""

    UNKNOWN = "unknown"
    NORMAL = "normal"
    WARNING = "warning"
    ALARM = "alarm"


class HealthScore(Frozen):
    """One model's view of one machine at one time."""

    machine: str
    ts: datetime
    anomaly_score: float = 0.0
    rul: float | None = Field(None, description="remaining useful life, hours")
    rul_low: float | None = None
    rul_high: float | None = None
    state: HealthState = HealthState.UNKNOWN
    top_contributors: tuple[str, ...] = ()
    model_version: str = ""
