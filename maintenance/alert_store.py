"""The alert store: every alert and its notification outbox in one durable SQLite file."""

# Every alert (active, acknowledged, cleared) is kept with fsync on commit; a partial UNIQUE
# index allows one open alert per (machine, component). Each change that planners are told about
# is written, in the same transaction, to the outbox (see maintenance/alert_notices.py).

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from maintenance.alert_notices import AlertEvent, OutboxEntry
from maintenance.alert_policy import Decision
from maintenance.alert_records import HeldBackAlert, alert_id_of, new_alert
from maintenance.durable import DurableFile
from maintenance.errors import MaintenanceError
from maintenance.notify import Notification
from models import Alert, InvalidStateError, NotFoundError, PrintOrder, from_micros, to_micros

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
CREATE TABLE IF NOT EXISTS held_back (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    machine TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    reason TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS held_back_by_machine ON held_back (machine, ts_us);
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

    def open_count(self) -> int:
        """How many alerts are active or acknowledged."""
        rows = self._file.rows("SELECT COUNT(*) AS open FROM alerts WHERE state != 'cleared'")
        return int(rows[0]["open"])

    def recent(self, limit: int = 100) -> list[Alert]:
        """Alerts in any state, newest first."""
        rows = self._file.rows("SELECT body FROM alerts ORDER BY seq DESC LIMIT ?", (limit,))
        return [Alert.model_validate_json(row["body"]) for row in rows]

    def raised_since(self, since: datetime) -> list[tuple[str, datetime]]:
        """(machine, raised at) of every alert raised at or after ``since``, oldest first."""
        rows = self._file.rows(
            "SELECT machine, raised_us FROM alerts WHERE raised_us >= ? ORDER BY raised_us",
            (to_micros(since),),
        )
        return [(row["machine"], from_micros(row["raised_us"])) for row in rows]

    def hold_back(self, held: HeldBackAlert) -> HeldBackAlert:
        """Log an alert the policy held back (durable when this returns)."""
        with self._file.transaction() as db:
            db.execute(
                "INSERT INTO held_back (machine, ts_us, reason, body) VALUES (?, ?, ?, ?)",
                (held.machine, to_micros(held.ts), held.reason, held.model_dump_json()),
            )
        return held

    def suppressed(self, limit: int = 100, machine: str | None = None) -> list[HeldBackAlert]:
        """Alerts held back, newest first (only ``machine``'s when given)."""
        where, params = ("WHERE machine = ?", (machine,)) if machine else ("", ())
        rows = self._file.rows(
            f"SELECT body FROM held_back {where} ORDER BY seq DESC LIMIT ?", (*params, limit)
        )
        return [HeldBackAlert.model_validate_json(row["body"]) for row in rows]

    def held_back_counts(self, since: datetime) -> dict[str, int]:
        """Alerts held back per machine at or after ``since``."""
        rows = self._file.rows(
            "SELECT machine, COUNT(*) AS n FROM held_back WHERE ts_us >= ? GROUP BY machine",
            (to_micros(since),),
        )
        return {row["machine"]: int(row["n"]) for row in rows}

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
