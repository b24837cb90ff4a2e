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


class AlertState(StrEnum):
    """Lifecycle of a maintenance alert: active (perhaps acknowledged), then cleared."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"

    @property
    def is_open(self) -> bool:
        """Whether the alert still stands (the one alert of its machine and component)."""
        return self is not AlertState.CLEARED


class Alert(Frozen):
    """A maintenance alert of one machine component, as planners and the MES see it.

    RUL and lead times are in hours. ``order_id`` is the print order the lead-time rule raised
    for it (``order_error`` says why none could be raised).
    """

    id: str = Field(min_length=1)
    machine: str = Field(min_length=1)
    component: str = Field(min_length=1)
    state: AlertState = AlertState.ACTIVE
    level: HealthState = Field(description="warning or alarm")
    severity: int = Field(ge=1, le=1000, description="OPC 10000-5 §6.4.2 Severity")
    anomaly_score: float = 0.0
    rul_low: float | None = None
    rul_high: float | None = None
    lead_time_h: float | None = Field(None, description="spare part print + logistics hours")
    margin_h: float = 0.0
    design_id: str = ""
    order_id: str = ""
    order_error: str = ""
    top_contributors: tuple[str, ...] = ()
    summary: str = ""
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str = ""
    cleared_at: datetime | None = None
    clear_reason: str = ""
