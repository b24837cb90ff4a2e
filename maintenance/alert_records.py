"""Alert records from the policy's decisions: opened, refreshed, cleared, and their alarm text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from maintenance.alert_policy import ActiveAlert, ClearReason, Decision, cleared_summary
from models import Alert, AlertState, Frozen, HealthState


def alert_id_of(seq: int) -> str:
    """``AL-000123`` for sequence number 123."""
    return f"AL-{seq:06d}"


def alarm_message(alert: Alert) -> str:
    """The alarm's text: the summary, what became of the spare-part order, why it cleared."""
    parts = [alert.summary]
    if alert.order_id:
        parts.append(f"Print order {alert.order_id} raised for {alert.design_id}.")
    elif alert.order_error:
        parts.append(f"No print order: {alert.order_error}")
    if alert.clear_reason:
        reason = ClearReason(alert.clear_reason)
        parts.append(f"Cleared: {cleared_summary(alert.machine, alert.component, reason)}")
    return " ".join(parts)


def active_of(alert: Alert) -> ActiveAlert:
    """What the policy must remember of an open alert."""
    ordered = bool(alert.order_id or alert.order_error)
    return ActiveAlert(alert.machine, alert.component, alert.level, ordered=ordered)


def _observed(decision: Decision) -> dict[str, Any]:
    """The fields of an alert that each decision refreshes."""
    part = decision.part
    return {
        "level": decision.level,
        "severity": decision.severity,
        "anomaly_score": decision.anomaly_score,
        "rul_low": decision.rul_low,
        "rul_high": decision.rul_high,
        "lead_time_h": part.lead_time_h if part is not None else None,
        "margin_h": decision.margin_h,
        "design_id": part.design_id if part is not None else "",
        "top_contributors": decision.top_contributors,
        "summary": decision.summary,
        "updated_at": decision.ts,
    }


def new_alert(alert_id: str, decision: Decision) -> Alert:
    """The alert a RAISE decision opens."""
    return Alert(
        id=alert_id,
        machine=decision.machine,
        component=decision.component,
        raised_at=decision.ts,
        **_observed(decision),
    )


def updated(alert: Alert, decision: Decision) -> Alert:
    """The alert after an UPDATE decision (level, RUL band, contributors, summary)."""
    return alert.model_copy(update=_observed(decision))


def cleared(alert: Alert, decision: Decision) -> Alert:
    """The alert after a CLEAR decision; its level, summary and order stay as they were."""
    reason = decision.clear_reason or ClearReason.RECOVERED
    return alert.model_copy(
        update={
            "state": AlertState.CLEARED,
            "cleared_at": decision.ts,
            "updated_at": decision.ts,
            "clear_reason": reason.value,
        }
    )


def more_urgent(level: HealthState, than: HealthState) -> bool:
    """Whether ``level`` escalates an alert that was at ``than``."""
    return level is HealthState.ALARM and than is not HealthState.ALARM


def rul_band(low: float | None, high: float | None) -> str:
    """A remaining-useful-life band in hours as people read it: ``120–340``, ``≥900`` or ``-``."""
    if low is None:
        return "-"
    return f"{low:.0f}–{high:.0f}" if high is not None else f"≥{low:.0f}"


class HeldBackAlert(Frozen):
    """An alert the calibrated policy held back, and why (``trustfloor alerts --suppressed``)."""

    machine: str
    component: str
    ts: datetime
    level: HealthState
    reason: str
    """A ``SuppressReason`` value: rul_veto, settling or budget."""
    anomaly_score: float
    rul_low: float | None = None
    rul_high: float | None = None
    top_contributors: tuple[str, ...] = ()
    summary: str
    """The alert's sentence, then ``Held back: <why, with the figures>.``"""


def held_back_of(decision: Decision) -> HeldBackAlert:
    """The record of a SUPPRESS decision."""
    return HeldBackAlert(
        machine=decision.machine,
        component=decision.component,
        ts=decision.ts,
        level=decision.level,
        reason=decision.suppressed.value if decision.suppressed else "",
        anomaly_score=decision.anomaly_score,
        rul_low=decision.rul_low,
        rul_high=decision.rul_high,
        top_contributors=decision.top_contributors,
        summary=decision.summary,
    )
