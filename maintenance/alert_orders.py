"""Order raising: an alert's spare-part print order, created once and recorded on the alert."""

from __future__ import annotations

import asyncio
import logging

from config import SparePart
from maintenance.alert_notices import AlertEvent
from maintenance.alert_records import rul_band
from maintenance.alert_store import AlertStore
from maintenance.orders import MAX_TEXT, SqliteOrderBook
from models import Alert, PrintOrder, TrustfloorError

log = logging.getLogger(__name__)


class AlertOrders:
    """Raises each alert's print order in the order book (idempotent per alert id) and records
    the order, or why there is none, on the stored alert with its notification."""

    def __init__(self, store: AlertStore, orders: SqliteOrderBook) -> None:
        self._store = store
        self._orders = orders

    async def raise_order(self, alert: Alert, part: SparePart) -> Alert:
        """Create the alert's print order (once, whatever happens) and record it on the alert."""
        reason = f"alert {alert.id}: {alert.summary}"[:MAX_TEXT]
        try:
            order = await self._orders.create_order_for_alert(
                alert.id,
                part.design_id,
                part.quantity,
                reason,
                design_revision=part.design_revision,
            )
        except TrustfloorError as error:
            log.error("alert %s: no print order: %s", alert.id, error.diagnostics())
            failed = alert.model_copy(update={"order_error": str(error)})
            return await asyncio.to_thread(self._store.save, failed, AlertEvent.ORDER_FAILED)
        return await self._attach(alert, order)

    async def attach_raised(self, alert: Alert) -> Alert:
        """After a restart: record on the alert an order created just before a crash."""
        if alert.order_id:
            return alert
        order = await self._orders.order_for_alert(alert.id)
        return await self._attach(alert, order) if order is not None else alert

    async def _attach(self, alert: Alert, order: PrintOrder) -> Alert:
        log.warning(
            "alert %s: print order %s for %d x %s (RUL band %s h)",
            alert.id,
            order.id,
            order.quantity,
            order.design_id,
            rul_band(alert.rul_low, alert.rul_high),
        )
        ordered = alert.model_copy(update={"order_id": order.id, "order_error": ""})
        return await asyncio.to_thread(self._store.save, ordered, AlertEvent.ORDERED, order)
