"""The alert table: open alerts with their orders' states, as ``trustfloor alerts`` shows them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from maintenance.alert_records import alarm_message, rul_band
from maintenance.alert_store import AlertStore
from maintenance.orders import SqliteOrderBook
from models import Alert, AlertState, Frozen, HealthState, PrintOrder


class AlertRow(Frozen):
    """One line of ``trustfloor alerts``."""

    alert_id: str
    machine: str
    component: str
    level: HealthState
    severity: int
    state: AlertState
    rul_low_h: float | None
    rul_high_h: float | None
    lead_time_h: float | None
    margin_h: float
    design_id: str
    order_id: str
    order_state: str
    raised_at: datetime
    top_contributors: tuple[str, ...]
    summary: str


def alert_rows(alerts: Iterable[Alert], orders: Mapping[str, PrintOrder]) -> list[AlertRow]:
    """Table rows of ``alerts``, each with its order's current state from ``orders`` (by id)."""
    return [
        AlertRow(
            alert_id=alert.id,
            machine=alert.machine,
            component=alert.component,
            level=alert.level,
            severity=alert.severity,
            state=alert.state,
            rul_low_h=alert.rul_low,
            rul_high_h=alert.rul_high,
            lead_time_h=alert.lead_time_h,
            margin_h=alert.margin_h,
            design_id=alert.design_id,
            order_id=alert.order_id,
            order_state=_order_state(alert, orders),
            raised_at=alert.raised_at,
            top_contributors=alert.top_contributors,
            summary=alarm_message(alert),
        )
        for alert in alerts
    ]


def _order_state(alert: Alert, orders: Mapping[str, PrintOrder]) -> str:
    if alert.order_error:
        return "failed"
    order = orders.get(alert.order_id)
    return order.state.value if order is not None else ""


async def active_alert_rows(store: AlertStore, orders: SqliteOrderBook) -> list[AlertRow]:
    """What ``trustfloor alerts`` shows: the open alerts, oldest first, with their orders."""
    alerts = await asyncio.to_thread(store.open_alerts)
    known = {a.order_id: await orders.get_order(a.order_id) for a in alerts if a.order_id}
    return alert_rows(alerts, known)


_COLUMNS = ("ALERT", "MACHINE", "COMPONENT", "LEVEL", "STATE", "RUL h", "LEAD h", "ORDER", "RAISED")


def _lead(row: AlertRow) -> str:
    return "-" if row.lead_time_h is None else f"{row.lead_time_h:.0f}+{row.margin_h:.0f}"


def _order_cell(row: AlertRow) -> str:
    if not row.order_id:
        return row.order_state or "-"
    return f"{row.order_id} ({row.order_state})"


def _cells(row: AlertRow) -> tuple[str, ...]:
    return (
        row.alert_id,
        row.machine,
        row.component,
        row.level.value,
        row.state.value,
        rul_band(row.rul_low_h, row.rul_high_h),
        _lead(row),
        _order_cell(row),
        row.raised_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def render_alert_table(rows: Sequence[AlertRow]) -> str:
    """A plain-text table of the rows, each followed by its summary; a note when empty."""
    if not rows:
        return "no active alerts"
    table = [_COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(_COLUMNS, widths, strict=True))]
    for row, cells in zip(rows, table[1:], strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        lines.append(f"  {row.summary}")
    return "\n".join(line.rstrip() for line in lines)
