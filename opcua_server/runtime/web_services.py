"""The site's services as the web console sees them: alerts and conditions, floor, parts."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from config import Settings
from connectors import SqliteHistorian
from ledger import STATEMENTS_DIR, LedgerService, design_key, recall, status_list
from maintenance import AlertService
from models import (
    CertificateDesk,
    Clock,
    HealthScore,
    InvalidStateError,
    NotFoundError,
    OrderBook,
    OrderState,
    PrinterStatus,
    Quality,
)
from opcua_server.alarms import AlarmManager, ConditionMethodError, ConditionState
from opcua_server.model.printers import PrinterView
from opcua_server.runtime.printflow import MAX_SCRAPPED_PIECES, piece_serial
from opcua_server.server import TrustfloorServer
from opcua_server.web import (
    AlertView,
    ConsoleServices,
    Evidence,
    Point,
    RecallView,
    StatementView,
    Tracer,
    Window,
)

log = logging.getLogger(__name__)

TREND_SPAN = timedelta(hours=1)
TREND_POINTS = 600
PRINTED_STATES = (
    OrderState.PRINTING,
    OrderState.PRINTED,
    OrderState.CERTIFIED,
    OrderState.REJECTED,
)


class ConditionRefusedError(InvalidStateError):
    """Acknowledge or Confirm refused by the alarm condition (already done, or not yet due)."""


class SiteAlertBoard:
    """Alerts from the alert service; acknowledging and confirming go through the OPC UA
    condition (which tells the alert service in turn), so both faces always agree."""

    def __init__(self, alerts: AlertService, alarms: AlarmManager) -> None:
        self._alerts = alerts
        self._alarms = alarms

    async def alerts(self) -> list[AlertView]:
        return [self._view(alert) for alert in await self._alerts.open_alerts()]

    def _view(self, alert: Any) -> AlertView:
        state = self._alarms.condition(alert.machine, alert.component)
        if state is None:
            return AlertView(alert, acked=alert.acknowledged_at is not None, confirmed=False)
        return AlertView(alert, acked=state.acked, confirmed=state.confirmed, comment=state.comment)

    async def acknowledge(self, alert_id: str, comment: str, user: str) -> AlertView:
        return await self._change(alert_id, self._alarms.acknowledge, comment, user)

    async def confirm(self, alert_id: str, comment: str, user: str) -> AlertView:
        return await self._change(alert_id, self._alarms.confirm, comment, user)

    async def _change(
        self, alert_id: str, change: Callable[..., Any], comment: str, user: str
    ) -> AlertView:
        alert = await self._alerts.alert(alert_id)
        state = self._condition(alert.machine, alert.component)
        try:
            await change(state.condition_id, state.event_id, comment, user)
        except ConditionMethodError as refused:
            raise ConditionRefusedError(str(refused), advice=refused.advice) from refused
        return self._view(await self._alerts.alert(alert_id))

    def _condition(self, machine: str, component: str) -> ConditionState:
        state = self._alarms.condition(machine, component)
        if state is None:
            raise NotFoundError(f"no alarm condition for {machine}/{component}")
        return state


class SiteFloor:
    """Machines' latest health, a signal's last hour from the historian, the printers' jobs."""

    def __init__(
        self,
        latest: Mapping[str, HealthScore],
        historian: SqliteHistorian | None,
        printers: Callable[[], Sequence[PrinterStatus]],
        clock: Clock,
    ) -> None:
        self._latest = latest
        self._historian = historian
        self._printers = printers
        self._clock = clock

    def health(self) -> list[HealthScore]:
        return [self._latest[m] for m in sorted(self._latest)]

    async def trend(self, machine: str, signal: str) -> list[Point]:
        if self._historian is None:
            return []
        end = self._clock.now()
        readings = await self._historian.query(machine, signal, end - TREND_SPAN, end)
        step = max(1, len(readings) // TREND_POINTS)
        return [
            Point(r.source_ts, float(r.value))
            for r in readings[::step]
            if isinstance(r.value, int | float) and r.quality is Quality.GOOD
        ]

    def printers(self) -> list[PrinterStatus]:
        return list(self._printers())


class SiteParts:
    """Parts printed for the site's orders; their evidence as the ledger recorded it."""

    def __init__(
        self, orders: OrderBook, certificates: CertificateDesk, ledger: LedgerService | None
    ) -> None:
        self._orders = orders
        self._certificates = certificates
        self._ledger = ledger

    async def serials(self, limit: int) -> list[str]:
        """Serials of pieces of recent orders that reached the printer, newest order first."""
        orders = await self._orders.list_orders(PRINTED_STATES, limit=limit)
        return [
            piece_serial(order, piece)
            for order in orders
            for piece in range(order.quantity + MAX_SCRAPPED_PIECES, 0, -1)
        ]

    async def evidence(self, serial: str) -> Evidence:
        if self._ledger is None:
            return Evidence()
        doc = json.loads(await self._certificates.certificate_json(serial))
        design = doc.get("design", {})
        dossier = await self._ledger.design(design_key(design["id"], design["revision"]))
        windows = {
            name: Window(w.min, w.max, w.unit)
            for name, w in (dossier.process_window.items() if dossier else ())
        }
        job = doc.get("job_id", doc.get("job"))  # schema 1, schema 2
        if not isinstance(job, str):
            return Evidence(windows=windows)
        samples = await asyncio.to_thread(self._ledger.store.samples, job)
        series: dict[str, list[Point]] = {}
        for sample in samples:
            series.setdefault(sample.parameter, []).append(Point(sample.ts, sample.value))
        return Evidence(series=series, windows=windows)


def statuses_of(view: PrinterView | None, settings: Settings) -> Callable[[], list[PrinterStatus]]:
    """Each configured printer's latest status, as the printer view last saw it."""
    ids = [printer.id for printer in settings.site.printers]

    def statuses() -> list[PrinterStatus]:
        if view is None:
            return []
        return [status for printer in ids if (status := view.status(printer)) is not None]

    return statuses


class SiteAfterSales:
    """Recall campaigns and billing statements from the site's data directory, read-only."""

    def __init__(self, settings: Settings) -> None:
        self._data_dir = settings.data_dir

    async def recalls(self) -> list[RecallView]:
        return await asyncio.to_thread(self._read_recalls)

    async def statements(self) -> list[StatementView]:
        return await asyncio.to_thread(self._read_statements)

    def _read_recalls(self) -> list[RecallView]:
        path = self._data_dir / recall.RECALLS_FILE
        if not path.exists():
            return []
        store = recall.CampaignStore(path)
        try:
            return [_recall_view(c, store) for c in reversed(store.campaigns())]
        finally:
            store.close()

    def _read_statements(self) -> list[StatementView]:
        folder = self._data_dir / STATEMENTS_DIR
        views = [_statement_view(f) for f in sorted(folder.glob("*/*.json"), reverse=True)]
        return [view for view in views if view is not None]


def _recall_view(campaign: recall.Campaign, store: recall.CampaignStore) -> RecallView:
    parts = store.parts(campaign.id)
    return RecallView(
        id=campaign.id,
        reason=campaign.reason,
        disposition=campaign.disposition.value,
        action=campaign.action.value,
        opened_by=campaign.opened_by,
        opened_at=campaign.opened_at,
        closed_at=campaign.closed_at,
        parts=[(p.serial, p.closure.value if p.closure else "") for p in parts],
        held_orders=store.held_orders(campaign.id),
    )


def _statement_view(path: Path) -> StatementView | None:
    """A statement file as the console lists it; None (logged) when it is not one."""
    try:
        kept = json.loads(path.read_text("utf-8"))
        statement = kept["statement"]
        counts, balances = statement["counts"], statement["balances"]
        design = statement["design"]
        amount = int(balances["amount_micros"]) / 1_000_000
        return StatementView(
            period=str(statement["period"]["month"]),
            design=f"{design['id']}@{design['revision']}",
            billable=int(counts["billable"]),
            failed=int(counts["failed"]),
            revoked=int(counts["revoked"]),
            amount=f"{amount:,.2f} {balances['currency']}",
            countersigned=bool(kept.get("countersignature")),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        log.warning("statement %s is not readable: %s", path, error)
        return None


class SiteStatusLists:
    """The ledger's signed status lists, built from its store on each request."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def status_list(self, purpose: str) -> bytes:
        return await asyncio.to_thread(status_list, self._settings, purpose)


def console_services(
    settings: Settings,
    server: TrustfloorServer,
    *,
    clock: Clock,
    orders: OrderBook | None,
    certificates: CertificateDesk | None,
    ledger: LedgerService | None,
    alerts: AlertService | None,
    health: Mapping[str, HealthScore],
    historian: SqliteHistorian | None,
    printers: PrinterView | None,
    tracer: Tracer | None = None,
) -> ConsoleServices:
    """The console's view of a running site: the server's users and audit log, the services."""
    return ConsoleServices(
        audit=server.audit,
        users=server.users,
        roles={user.name: user.role for user in settings.server.users},
        orders=orders,
        certificates=certificates,
        alerts=SiteAlertBoard(alerts, server.alarms)
        if alerts is not None and server.alarms is not None
        else None,
        floor=SiteFloor(health, historian, statuses_of(printers, settings), clock),
        parts=SiteParts(orders, certificates, ledger)
        if orders is not None and certificates is not None
        else None,
        print_hours={p.design_id: p.print_hours for p in settings.maintenance.spare_parts},
        status_lists=SiteStatusLists(settings) if ledger is not None else None,
        tracer=tracer,
        after_sales=SiteAfterSales(settings) if ledger is not None else None,
    )
