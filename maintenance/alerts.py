"""The alert service: applies the policy's decisions and answers queries about the alerts."""

# Each policy decision becomes: the stored alert (maintenance/alert_store.py), the OPC UA alarm
# (through the ``AlarmSink`` port), the print order (maintenance/alert_orders.py, idempotent per
# alert id in the order book), and the outbox entries handed to the notifier
# (maintenance/alert_notices.py). ``AlertService.start`` rebuilds the policy from the open alerts,
# re-asserts their alarms, and attaches any order created just before a crash. Store calls run in
# a worker thread (SQLite commits wait for fsync).

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from config import MaintenanceSettings
from maintenance.alert_notices import AlertEvent, Notifier, hand_over
from maintenance.alert_orders import AlertOrders
from maintenance.alert_policy import Action, AlertPolicy, Decision, Observation, Replacement
from maintenance.alert_records import (
    HeldBackAlert,
    active_of,
    cleared,
    held_back_of,
    more_urgent,
    updated,
)
from maintenance.alert_store import AlertStateError, AlertStore
from maintenance.alert_table import AlertRow, active_alert_rows
from maintenance.catalogue import Catalogue
from maintenance.orders import SqliteOrderBook
from models import Alert, AlertState, Clock, SystemClock

log = logging.getLogger(__name__)


class AlarmSink(Protocol):
    """Where alerts become alarms (the composition root adapts the OPC UA AlarmManager).

    ``raise_alert`` is called on every change of an open alert and again at start-up, so it must
    be idempotent; ``clear`` once when the alert clears.
    """

    async def raise_alert(self, alert: Alert) -> None: ...

    async def clear(self, alert: Alert) -> None: ...


class WorkRequests(Protocol):
    """Where alerts become work requests (``maintenance.cmms.WorkRequestDesk``)."""

    async def alert_changed(self, alert: Alert) -> object: ...


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
        work_requests: WorkRequests | None = None,
    ) -> None:
        self.store = store
        self.orders = orders
        self.policy = policy
        self._sink = sink
        self._notifier = notifier
        self._work_requests = work_requests
        self._clock = clock or SystemClock()
        self._ordering = AlertOrders(store, orders)
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
        work_requests: WorkRequests | None = None,
    ) -> AlertService:
        """The service over ``store``: open alerts reconciled, their alarms raised again."""
        parts = catalogue if catalogue is not None else Catalogue(settings.spare_parts)
        policy = AlertPolicy(settings, parts)
        service = cls(
            store,
            orders,
            policy,
            sink=sink,
            notifier=notifier,
            clock=clock,
            work_requests=work_requests,
        )
        reconciled = [await service._reconcile(alert) for alert in await service.open_alerts()]
        window = timedelta(seconds=settings.alerting.budget_window_s)
        raised = await asyncio.to_thread(store.raised_since, service._clock.now() - window)
        service.policy = AlertPolicy(settings, parts, [active_of(a) for a in reconciled], raised)
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
            alert = await self.alert(alert_id)
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

    async def open_alerts(self) -> list[Alert]:
        """Active and acknowledged alerts, oldest first."""
        return await asyncio.to_thread(self.store.open_alerts)

    async def open_count(self) -> int:
        """How many alerts are active or acknowledged."""
        return await asyncio.to_thread(self.store.open_count)

    async def alert(self, alert_id: str) -> Alert:
        """The alert with ``alert_id`` in any state (UnknownAlertError when there is none)."""
        return await asyncio.to_thread(self.store.get, alert_id)

    async def active_rows(self) -> list[AlertRow]:
        """The open alerts as table rows, oldest first, each with its order's state."""
        return await active_alert_rows(self.store, self.orders)

    def close(self) -> None:
        """Close the store; the service is not used after."""
        self.store.close()

    async def held_back(self, limit: int = 100) -> list[HeldBackAlert]:
        """Alerts the calibrated policy held back, newest first."""
        return await asyncio.to_thread(self.store.suppressed, limit)

    async def recent(self, limit: int = 1000) -> list[Alert]:
        """Alerts in any state, newest first."""
        return await asyncio.to_thread(self.store.recent, limit)

    async def _apply(self, decision: Decision) -> Alert | None:
        if decision.action is Action.SUPPRESS:
            held = await asyncio.to_thread(self.store.hold_back, held_back_of(decision))
            log.info("alert held back (%s): %s", held.reason, held.summary)
            return None
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
            escalated = more_urgent(alert.level, current.level)
            event = AlertEvent.ESCALATED if escalated else None
            await asyncio.to_thread(self.store.save, alert, event)
        if decision.order and decision.part is not None:
            alert = await self._ordering.raise_order(alert, decision.part)
        await self._show(alert)
        await self._request_work(alert)
        return alert

    async def _request_work(self, alert: Alert) -> None:
        """Open or refresh the alert's work request in the CMMS; a failure is only logged."""
        if self._work_requests is None:
            return
        try:
            await self._work_requests.alert_changed(alert)
        except Exception:
            log.exception("work request of %s could not be written (the alert is stored)", alert.id)

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

    async def _reconcile(self, alert: Alert) -> Alert:
        """After a restart: attach an order created just before a crash; raise the alarm again."""
        alert = await self._ordering.attach_raised(alert)
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
        await hand_over(self.store, self._notifier)
