"""Maintenance alerts: the durable store, the service applying policy decisions, the alert table."""

# ``AlertStore`` keeps every alert (active, acknowledged, cleared) in SQLite with fsync on commit;
# a partial UNIQUE index allows one open alert per (machine, component). Each change that
# planners are told about is written, in the same transaction, to an outbox, which
# ``AlertService`` hands to the notifier and then marks; a crash in between hands it over again
# (the notifier ignores keys it already has), so notifications are at least once.
#
# ``AlertService.apply`` turns a policy decision into: the stored alert, the OPC UA alarm (through
# the ``AlarmSink`` port), the print order (idempotent per alert id in the order book), and the
# outbox entries. ``AlertService.start`` rebuilds the policy from the open alerts, re-asserts
# their alarms, and attaches any order created just before a crash.

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from config.settings import MaintenanceSettings, SparePart
from maintenance.alert_policy import (
    Action,
    ActiveAlert,
    AlertPolicy,
    ClearReason,
    Decision,
    Observation,
    Replacement,
    cleared_summary,
)
from maintenance.catalogue import Catalogue
from maintenance.durable import DurableFile, to_micros
from maintenance.errors import MaintenanceError
from maintenance.notify import Notification
from maintenance.orders import MAX_TEXT, SqliteOrderBook
from models import (
    Alert,
    AlertState,
    Clock,
    Frozen,
    HealthState,
    InvalidStateError,
    NotFoundError,
    PrintOrder,
    SystemClock,
    TrustfloorError,
)

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    machine TEXT NOT NULL,
    component TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'cleared')),
    raised_us INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_alert
    ON alerts (machine, component) WHERE state != 'cleared';
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    body TEXT NOT NULL,
    handed_over INTEGER NOT NULL DEFAULT 0
);
"""


class AlertStoreError(MaintenanceError):
    """The alert store's file cannot be opened or written."""

    advice = "check that the data directory is writable and alerts.sqlite is not corrupt"


class UnknownAlertError(AlertStoreError, NotFoundError):
    """No alert has the id asked for."""

    advice = "list the alerts with `trustfloor alerts` and use an existing id"


class AlertStateError(AlertStoreError, InvalidStateError):
    """The alert is not in a state that allows the change asked for."""

    advice = "only an active alert can be acknowledged; a cleared alert cannot change"


class AlertEvent(StrEnum):
    """What happened to an alert, as the webhook's receivers see it."""

    RAISED = "alert.raised"
    ESCALATED = "alert.escalated"
    ORDERED = "alert.ordered"
    ORDER_FAILED = "alert.order_failed"
    ACKNOWLEDGED = "alert.acknowledged"
    CLEARED = "alert.cleared"


class AlarmSink(Protocol):
    """Where alerts become alarms (the composition root adapts the OPC UA AlarmManager).

    ``raise_alert`` is called on every change of an open alert and again at start-up, so it must
    be idempotent; ``clear`` once when the alert clears.
    """

    async def raise_alert(self, alert: Alert) -> None: ...

    async def clear(self, alert: Alert) -> None: ...


class Notifier(Protocol):
    """Where planner notifications go (``maintenance.notify.WebhookNotifier``)."""

    async def enqueue(self, notification: Notification) -> bool: ...


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A notification written with an alert change, not yet handed to the notifier."""

    seq: int
    notification: Notification


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


def _body(alert: Alert, order: PrintOrder | None) -> dict[str, Any]:
    return {
        "alert": alert.model_dump(mode="json"),
        "order": order.model_dump(mode="json") if order is not None else None,
    }


class AlertStore:
    """Every alert and its outbox in one SQLite file, durable when a call returns."""

    def __init__(self, path: Path) -> None:
        self._file = DurableFile(path, _SCHEMA, AlertStoreError)

    def insert(self, decision: Decision) -> Alert:
        """Open the alert of a RAISE decision (and its ``alert.raised`` notification).

        AlertStateError when the component already has an open alert.
        """
        try:
            with self._file.transaction() as db:
                seq = db.execute(
                    "INSERT INTO alerts (machine, component, state, raised_us, body)"
                    " VALUES (?, ?, 'active', ?, '')",
                    (decision.machine, decision.component, to_micros(decision.ts)),
                ).lastrowid
                alert = new_alert(alert_id_of(int(seq or 0)), decision)
                _write(db, alert, AlertEvent.RAISED, None)
        except sqlite3.IntegrityError as error:
            raise AlertStateError(
                f"{decision.machine}/{decision.component} already has an open alert"
            ) from error
        return alert

    def save(
        self, alert: Alert, event: AlertEvent | None = None, order: PrintOrder | None = None
    ) -> Alert:
        """Store a changed alert, with its notification when ``event`` is given."""
        with self._file.transaction() as db:
            _write(db, alert, event, order)
        return alert

    def get(self, alert_id: str) -> Alert:
        rows = self._file.rows("SELECT body FROM alerts WHERE seq = ?", (_seq_of(alert_id),))
        if not rows:
            raise UnknownAlertError(f"no alert {alert_id!r}")
        return Alert.model_validate_json(rows[0]["body"])

    def open_alert(self, machine: str, component: str) -> Alert | None:
        """The open alert of a machine component, if it has one."""
        rows = self._file.rows(
            "SELECT body FROM alerts WHERE machine = ? AND component = ? AND state != 'cleared'",
            (machine, component),
        )
        return Alert.model_validate_json(rows[0]["body"]) if rows else None

    def open_alerts(self) -> list[Alert]:
        """Active and acknowledged alerts, oldest first."""
        rows = self._file.rows("SELECT body FROM alerts WHERE state != 'cleared' ORDER BY seq")
        return [Alert.model_validate_json(row["body"]) for row in rows]

    def recent(self, limit: int = 100) -> list[Alert]:
        """Alerts in any state, newest first."""
        rows = self._file.rows("SELECT body FROM alerts ORDER BY seq DESC LIMIT ?", (limit,))
        return [Alert.model_validate_json(row["body"]) for row in rows]

    def outbox(self) -> list[OutboxEntry]:
        """Notifications not yet handed to the notifier, oldest first."""
        rows = self._file.rows(
            "SELECT seq, key, event, body FROM outbox WHERE handed_over = 0 ORDER BY seq"
        )
        return [
            OutboxEntry(row["seq"], Notification(row["key"], row["event"], json.loads(row["body"])))
            for row in rows
        ]

    def handed_over(self, seq: int) -> None:
        with self._file.transaction() as db:
            db.execute("UPDATE outbox SET handed_over = 1 WHERE seq = ?", (seq,))

    def close(self) -> None:
        self._file.close()


def _seq_of(alert_id: str) -> int:
    prefix, _, number = alert_id.partition("-")
    if prefix != "AL" or not number.isdigit():
        raise UnknownAlertError(f"no alert {alert_id!r}: alert ids look like AL-000123")
    return int(number)


def _write(
    db: sqlite3.Connection, alert: Alert, event: AlertEvent | None, order: PrintOrder | None
) -> None:
    db.execute(
        "UPDATE alerts SET state = ?, body = ? WHERE seq = ?",
        (alert.state.value, alert.model_dump_json(), _seq_of(alert.id)),
    )
    if event is not None:
        db.execute(
            "INSERT OR IGNORE INTO outbox (key, event, body) VALUES (?, ?, ?)",
            (f"{alert.id}:{event.value}", event.value, json.dumps(_body(alert, order))),
        )


class AlertService:
    """Applies the policy's decisions: store, alarm, print order once, notification.

    Build it with :meth:`start`, which rebuilds the policy from the open alerts.
    """

    def __init__(
        self,
        store: AlertStore,
        orders: SqliteOrderBook,
        policy: AlertPolicy,
        *,
        sink: AlarmSink | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.orders = orders
        self.policy = policy
        self._sink = sink
        self._notifier = notifier
        self._clock = clock or SystemClock()
        self._lock = asyncio.Lock()

    @classmethod
    async def start(
        cls,
        store: AlertStore,
        orders: SqliteOrderBook,
        settings: MaintenanceSettings,
        *,
        catalogue: Catalogue | None = None,
        sink: AlarmSink | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
    ) -> AlertService:
        """The service over ``store``: open alerts reconciled, their alarms raised again."""
        parts = catalogue if catalogue is not None else Catalogue(settings.spare_parts)
        policy = AlertPolicy(settings, parts)
        service = cls(store, orders, policy, sink=sink, notifier=notifier, clock=clock)
        open_alerts = await asyncio.to_thread(store.open_alerts)
        reconciled = [await service._reconcile(alert) for alert in open_alerts]
        service.policy = AlertPolicy(settings, parts, [active_of(a) for a in reconciled])
        await service._hand_over()
        return service

    async def observe(self, observations: Iterable[Observation]) -> list[Alert]:
        """Feed a tick's scores to the policy and apply its decisions; the alerts they changed."""
        async with self._lock:
            decisions = self.policy.observe_all(observations)
            return [a for a in [await self._apply(d) for d in decisions] if a is not None]

    async def replaced(
        self, machine: str, component: str, ts: datetime | None = None
    ) -> Alert | None:
        """A component was replaced: its alert clears; returns the cleared alert, if any."""
        async with self._lock:
            replacement = Replacement(machine, component, ts or self._clock.now())
            decision = self.policy.replaced(replacement)
            return await self._apply(decision) if decision is not None else None

    async def acknowledge_open(self, machine: str, component: str, by: str) -> Alert | None:
        """The open alert of ``machine``'s ``component`` was acknowledged (its OPC UA alarm)."""
        alert = await asyncio.to_thread(self.store.open_alert, machine, component)
        return await self.acknowledge(alert.id, by) if alert is not None else None

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        """A planner has seen the alert; it stays open until it clears."""
        async with self._lock:
            alert = await asyncio.to_thread(self.store.get, alert_id)
            if alert.state is AlertState.ACKNOWLEDGED:
                return alert
            if alert.state is not AlertState.ACTIVE:
                raise AlertStateError(f"alert {alert_id} is {alert.state.value}")
            now = self._clock.now()
            acknowledged = alert.model_copy(
                update={
                    "state": AlertState.ACKNOWLEDGED,
                    "acknowledged_at": now,
                    "acknowledged_by": by,
                    "updated_at": now,
                }
            )
            await asyncio.to_thread(self.store.save, acknowledged, AlertEvent.ACKNOWLEDGED)
            await self._hand_over()
            return acknowledged

    async def _apply(self, decision: Decision) -> Alert | None:
        if decision.action is Action.CLEAR:
            alert = await self._clear(decision)
        else:
            alert = await self._raise_or_update(decision)
        await self._hand_over()
        return alert

    async def _raise_or_update(self, decision: Decision) -> Alert:
        current = await asyncio.to_thread(
            self.store.open_alert, decision.machine, decision.component
        )
        if current is None:
            alert = await asyncio.to_thread(self.store.insert, decision)
            log.warning("alert %s raised: %s", alert.id, alert.summary)
        else:
            alert = updated(current, decision)
            escalated = _more_urgent(alert.level, current.level)
            event = AlertEvent.ESCALATED if escalated else None
            await asyncio.to_thread(self.store.save, alert, event)
        if decision.order and decision.part is not None:
            alert = await self._order(alert, decision.part)
        await self._show(alert)
        return alert

    async def _clear(self, decision: Decision) -> Alert | None:
        current = await asyncio.to_thread(
            self.store.open_alert, decision.machine, decision.component
        )
        if current is None:
            return None
        alert = cleared(current, decision)
        await asyncio.to_thread(self.store.save, alert, AlertEvent.CLEARED)
        log.info("alert %s cleared: %s", alert.id, alert.summary)
        if self._sink is not None:
            try:
                await self._sink.clear(alert)
            except Exception:
                log.exception("alarm of %s could not be cleared (the alert is stored)", alert.id)
        return alert

    async def _order(self, alert: Alert, part: SparePart) -> Alert:
        """Create the alert's print order (once, whatever happens) and record it on the alert."""
        reason = f"alert {alert.id}: {alert.summary}"[:MAX_TEXT]
        try:
            order = await self.orders.create_order_for_alert(
                alert.id,
                part.design_id,
                part.quantity,
                reason,
                design_revision=part.design_revision,
            )
        except TrustfloorError as error:
            log.error("alert %s: no print order: %s", alert.id, error.diagnostics())
            failed = alert.model_copy(update={"order_error": str(error)})
            return await asyncio.to_thread(self.store.save, failed, AlertEvent.ORDER_FAILED)
        return await self._attach(alert, order)

    async def _attach(self, alert: Alert, order: PrintOrder) -> Alert:
        log.warning(
            "alert %s: print order %s for %d x %s (RUL band %s h)",
            alert.id,
            order.id,
            order.quantity,
            order.design_id,
            _band(alert.rul_low, alert.rul_high),
        )
        ordered = alert.model_copy(update={"order_id": order.id, "order_error": ""})
        return await asyncio.to_thread(self.store.save, ordered, AlertEvent.ORDERED, order)

    async def _reconcile(self, alert: Alert) -> Alert:
        """After a restart: attach an order created just before a crash; raise the alarm again."""
        if not alert.order_id:
            order = await self.orders.order_for_alert(alert.id)
            if order is not None:
                alert = await self._attach(alert, order)
        await self._show(alert)
        return alert

    async def _show(self, alert: Alert) -> None:
        if self._sink is None:
            return
        try:
            await self._sink.raise_alert(alert)
        except Exception:
            log.exception("alarm of %s could not be raised (the alert is stored)", alert.id)

    async def _hand_over(self) -> None:
        """Give the outbox to the notifier (or drop it when there is none), oldest first."""
        for entry in await asyncio.to_thread(self.store.outbox):
            if self._notifier is not None:
                await self._notifier.enqueue(entry.notification)
            await asyncio.to_thread(self.store.handed_over, entry.seq)


def _more_urgent(level: HealthState, than: HealthState) -> bool:
    return level is HealthState.ALARM and than is not HealthState.ALARM


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


def _band(low: float | None, high: float | None) -> str:
    if low is None:
        return "-"
    return f"{low:.0f}–{high:.0f}" if high is not None else f"≥{low:.0f}"


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
        _band(row.rul_low_h, row.rul_high_h),
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
