"""Trace and recall across the ledger and maintenance: parts, where they went, open orders."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from config import Settings
from ledger import LedgerStore, TraceCriteria, TracedPart, recall, traced_parts
from maintenance import AlertStore, SqliteOrderBook
from models import Alert, NotFoundError, OrderBook, OrderState, PrintOrder, parse_json_text

OPEN_STATES = (OrderState.CREATED, OrderState.DISPATCHED, OrderState.PRINTING, OrderState.HELD)
"""Orders whose pieces are not all made yet (a held one may still be released)."""

MAX_ORDERS = 10_000
"""Most open orders a trace reads."""

AlertLookup = Callable[[str], Alert | None]
"""The alert of an id, or None when there is none (blocking: the alert store is SQLite)."""


@dataclass(frozen=True, slots=True)
class TraceLine:
    """One part with what maintenance knows of it: its order and where it is to be fitted."""

    part: TracedPart
    order: PrintOrder | None
    alert: Alert | None
    recalls: tuple[tuple[str, recall.Closure | None], ...] = ()
    """The campaigns the part is in, with its closure in each (None while open)."""
    life: tuple[recall.LifeRecord, ...] = ()

    def document(self) -> dict[str, object]:
        entry: dict[str, object] = dict(self.part.document())
        entry["order_state"] = None if self.order is None else self.order.state.value
        entry["fitted"] = _fitted(self.alert)
        entry["recalls"] = [
            {"campaign": c, "closure": None if closure is None else closure.value}
            for c, closure in self.recalls
        ]
        entry["end_of_life"] = [
            {"event": r.event.value, "by": r.by, "at": r.at.isoformat()} for r in self.life
        ]
        return entry


@dataclass(frozen=True, slots=True)
class TraceReport:
    """What a trace found: the parts and the orders still open for the same criteria."""

    criteria: TraceCriteria
    lines: tuple[TraceLine, ...]
    open_orders: tuple[PrintOrder, ...]

    def document(self) -> dict[str, object]:
        return {
            "criteria": self.criteria.document(),
            "parts": [line.document() for line in self.lines],
            "open_orders": [_order_entry(o) for o in self.open_orders],
        }


def _fitted(alert: Alert | None) -> dict[str, str] | None:
    """Where the part goes: the machine and component its order's alert was raised for."""
    if alert is None:
        return None
    return {"machine": alert.machine, "component": alert.component, "alert": alert.id}


def _order_entry(order: PrintOrder) -> dict[str, object]:
    return {
        "id": order.id,
        "design": order.design_id,
        "revision": order.design_revision,
        "quantity": order.quantity,
        "state": order.state.value,
        "printer": order.printer,
        "material_lot": order.material_lot,
        "alert": order.alert_id,
    }


def order_matches(criteria: TraceCriteria, order: PrintOrder) -> bool:
    """Whether an open order will make parts ``criteria`` names (what an order can say)."""
    if criteria.serial or criteria.dossier:
        return False
    checks = (
        (criteria.lot, order.material_lot),
        (criteria.printer, order.printer),
        (criteria.design, order.design_id),
        (criteria.revision, order.design_revision),
        (criteria.order, order.id),
    )
    return all(not wanted or wanted == actual for wanted, actual in checks)


CRITERIA_KEYS = frozenset(
    {"lot", "printer", "from", "until", "design", "revision", "dossier", "order", "serial"}
)
"""What a trace query names (``upstream`` asks for each part's origin too)."""


def criteria_from_json(query: Mapping[str, object]) -> TraceCriteria:
    """The criteria of a JSON trace query; TraceCriteriaError naming what is wrong."""
    unknown = sorted(set(query) - CRITERIA_KEYS - {"upstream"})
    if unknown:
        raise recall.TraceCriteriaError(f"unknown criteria {', '.join(unknown)}")

    def text(key: str) -> str:
        value = query.get(key, "")
        if not isinstance(value, str):
            raise recall.TraceCriteriaError(f"{key} must be a string")
        return value

    def when(key: str) -> datetime | None:
        value = text(key)
        try:
            return datetime.fromisoformat(value) if value else None
        except ValueError:
            raise recall.TraceCriteriaError(f"{key} {value!r} is not an ISO 8601 time") from None

    return TraceCriteria(
        lot=text("lot"),
        printer=text("printer"),
        design=text("design"),
        revision=text("revision"),
        dossier=text("dossier"),
        order=text("order"),
        serial=text("serial"),
        start=when("from"),
        until=when("until"),
    )


TRACE_COLUMNS = (
    "serial",
    "design",
    "revision",
    "dossier_sha256",
    "printer",
    "material_lot",
    "built_at",
    "certificate",
    "verdict",
    "order",
    "order_state",
    "fitted_machine",
    "fitted_component",
)
"""The columns of a trace as CSV, one row per part."""


def trace_csv(report: TraceReport) -> str:
    """The trace's parts as CSV for spreadsheets."""
    return recall.csv_text(TRACE_COLUMNS, [_csv_row(line) for line in report.lines])


def _csv_row(line: TraceLine) -> dict[str, object]:
    job = line.part.job
    return {
        "serial": job.serial,
        "design": job.design.id,
        "revision": job.design.revision,
        "dossier_sha256": job.design.dossier_sha256,
        "printer": job.printer,
        "material_lot": job.material_lot,
        "built_at": job.started_at.isoformat(),
        "certificate": line.part.status.value,
        "verdict": None if line.part.verdict is None else line.part.verdict.value,
        "order": job.order_id,
        "order_state": None if line.order is None else line.order.state.value,
        "fitted_machine": None if line.alert is None else line.alert.machine,
        "fitted_component": None if line.alert is None else line.alert.component,
    }


def trace_epcis(report: TraceReport, created_at: datetime) -> dict[str, object]:
    """The trace's parts as an EPCIS 2.0 document: each build (lot → part) and certificate."""
    events = recall.trace_events(line.part for line in report.lines)
    return dict(recall.epcis_document(events, created_at))


class Aftersales:
    """Answers trace queries from the ledger store, the order book and the alerts."""

    def __init__(
        self,
        ledger: LedgerStore,
        orders: OrderBook,
        alert_of: AlertLookup,
        campaigns: recall.CampaignStore | None = None,
    ) -> None:
        self.ledger = ledger
        self.orders = orders
        self.alert_of = alert_of
        self.campaigns = campaigns

    async def trace(self, criteria: TraceCriteria, *, upstream: bool = False) -> TraceReport:
        """The parts ``criteria`` names with their orders and fitting, and the open orders."""
        parts = await asyncio.to_thread(traced_parts, self.ledger, criteria, upstream=upstream)
        lines = [await self._line(part) for part in parts]
        return TraceReport(criteria, tuple(lines), tuple(await self.open_orders(criteria)))

    async def open_orders(self, criteria: TraceCriteria) -> list[PrintOrder]:
        """Orders not yet fully made whose parts ``criteria`` would name."""
        orders = await self.orders.list_orders(OPEN_STATES, limit=MAX_ORDERS)
        return [o for o in orders if order_matches(criteria, o)]

    async def _line(self, part: TracedPart) -> TraceLine:
        recalls, life = await asyncio.to_thread(self._after_sales_of, part.serial)
        try:
            order = await self.orders.get_order(part.job.order_id)
        except NotFoundError:
            return TraceLine(part, None, None, recalls, life)
        alert = await asyncio.to_thread(self.alert_of, order.alert_id) if order.alert_id else None
        return TraceLine(part, order, alert, recalls, life)

    def _after_sales_of(
        self, serial: str
    ) -> tuple[tuple[tuple[str, recall.Closure | None], ...], tuple[recall.LifeRecord, ...]]:
        if self.campaigns is None:
            return (), ()
        return tuple(self.campaigns.campaigns_of(serial)), tuple(self.campaigns.life_events(serial))

    async def trace_json(self, criteria_json: str) -> str:
        """The ``Trace`` method's answer (see opcua_server.methods.trace.Tracer)."""
        query = parse_json_text(criteria_json, what="CriteriaJson")
        if not isinstance(query, dict):
            raise recall.TraceCriteriaError("CriteriaJson must be a JSON object")
        report = await self.trace(criteria_from_json(query), upstream=query.get("upstream") is True)
        return json.dumps(report.document())


def alert_lookup(alerts: AlertStore) -> AlertLookup:
    """Alerts of ``alerts`` by id, None for an id it does not know."""

    def alert_of(alert_id: str) -> Alert | None:
        try:
            return alerts.get(alert_id)
        except NotFoundError:
            return None

    return alert_of


@asynccontextmanager
async def maintenance_books(
    settings: Settings,
) -> AsyncIterator[tuple[SqliteOrderBook, AlertLookup]]:
    """The site's order book and a lookup of its alerts, closed on exit."""
    data_dir = Path(settings.data_dir)
    alerts = AlertStore(data_dir / settings.maintenance.alerts_file)
    orders = SqliteOrderBook(data_dir / settings.maintenance.orders_file)
    try:
        yield orders, alert_lookup(alerts)
    finally:
        await orders.close()
        alerts.close()


@asynccontextmanager
async def open_aftersales(settings: Settings) -> AsyncIterator[Aftersales]:
    """The site's ledger store, order book and alerts from its data directory, closed on exit."""
    data_dir = Path(settings.data_dir)
    ledger = LedgerStore(data_dir / settings.ledger.sqlite_file)
    recalls = data_dir / recall.RECALLS_FILE
    campaigns = recall.CampaignStore(recalls) if recalls.exists() else None
    try:
        async with maintenance_books(settings) as (orders, alert_of):
            yield Aftersales(ledger, orders, alert_of, campaigns)
    finally:
        if campaigns is not None:
            campaigns.close()
        ledger.close()
