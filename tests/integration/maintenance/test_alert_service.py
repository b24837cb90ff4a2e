"""The alert service on real files and a real webhook receiver: one alert, one order, restarts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from maintenance.alert_notices import Notifier
from maintenance.alert_policy import AlertPolicy
from maintenance.alert_records import alarm_message
from maintenance.alert_store import AlertStateError, AlertStore
from maintenance.alert_table import active_alert_rows, render_alert_table
from maintenance.alerts import AlertService
from maintenance.notify import WebhookNotifier
from maintenance.orders import SqliteOrderBook
from models import AlertState, HealthState, NotFoundError, OrderState
from models.timebase import ManualClock
from tests.integration.maintenance.webhook_kit import SECRET, running_receiver
from tests.unit.maintenance.alerts.policy_kit import (
    AFTER_ORDER,
    BEARING,
    BEFORE_ORDER,
    DESIGN,
    MILL,
    SETTINGS,
    WEAR,
    at,
    every_minute,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")


@asynccontextmanager
async def service_on(
    folder: Path,
    *,
    notifier: Notifier | None = None,
    design_exists: Callable[[str], bool] | None = None,
) -> AsyncIterator[AlertService]:
    """An alert service over the files in ``folder``, as a (re)started process opens it."""
    clock = ManualClock(at(0))
    store = AlertStore(folder / "alerts.sqlite")
    orders = SqliteOrderBook(folder / "orders.sqlite", clock=clock, design_exists=design_exists)
    try:
        yield await AlertService.start(store, orders, SETTINGS, notifier=notifier, clock=clock)
    finally:
        await orders.close()
        store.close()


async def test_a_degrading_machine_raises_one_alert_one_order_and_signed_notifications(
    tmp_path: Path,
) -> None:
    with running_receiver() as receiver:
        hook = WebhookNotifier(tmp_path / "queue.sqlite", receiver.url, SECRET)
        async with service_on(tmp_path, notifier=hook) as service:
            changed = await service.observe(WEAR)
            orders = await service.orders.list_orders()
            alerts = service.store.recent()
        report = await hook.deliver_due()
        await hook.close()
    assert [(a.level, a.order_id) for a in changed] == [
        (HealthState.WARNING, ""),
        (HealthState.ALARM, ""),
        (HealthState.ALARM, "PO-000001"),
    ]
    assert [(a.id, a.state, a.order_id) for a in alerts] == [
        ("AL-000001", AlertState.ACTIVE, "PO-000001")
    ]
    assert [(o.id, o.alert_id, o.design_id, o.state) for o in orders] == [
        ("PO-000001", "AL-000001", DESIGN, OrderState.CREATED)
    ]
    assert orders[0].reason.startswith("alert AL-000001: Spindle bearing of mill-1 is wearing")
    assert report.delivered == 3
    assert [r.key for r in receiver.received] == [
        "AL-000001:alert.raised",
        "AL-000001:alert.escalated",
        "AL-000001:alert.ordered",
    ]
    assert all(r.signed for r in receiver.received)
    ordered = receiver.received[-1].json()
    assert ordered["order"]["id"] == ordered["alert"]["order_id"] == "PO-000001"
    assert ordered["alert"]["lead_time_h"] == 60.0
    assert ordered["alert"]["rul_low"] <= 84.0


async def test_restarts_before_and_after_the_order_keep_one_alert_and_one_order(
    tmp_path: Path,
) -> None:
    async with service_on(tmp_path) as service:
        await service.observe(WEAR[:BEFORE_ORDER])
    async with service_on(tmp_path) as service:
        ordered = await service.observe(WEAR[BEFORE_ORDER:AFTER_ORDER])
    async with service_on(tmp_path) as service:
        after_restart = await service.observe(WEAR[AFTER_ORDER:])
        orders = await service.orders.list_orders()
        alerts = service.store.recent()
    assert [a.order_id for a in ordered] == ["PO-000001"]
    assert after_restart == []
    assert [o.alert_id for o in orders] == ["AL-000001"]
    assert [a.id for a in alerts] == ["AL-000001"]


async def test_an_order_made_just_before_a_crash_is_attached_and_not_made_again(
    tmp_path: Path,
) -> None:
    store = AlertStore(tmp_path / "alerts.sqlite")
    orders = SqliteOrderBook(tmp_path / "orders.sqlite")
    raise_and_order = AlertPolicy(SETTINGS).observe_all(every_minute(0, 11, 0.3, rul_low=70.0))
    alert = store.insert(raise_and_order[0])
    await orders.create_order_for_alert(alert.id, DESIGN, 1, "made before the crash")
    await orders.close()
    store.close()  # the process died before recording the order on the alert
    async with service_on(tmp_path) as service:
        reconciled = service.store.get(alert.id)
        later = await service.observe(every_minute(11, 30, 0.3, rul_low=60.0))
        made = await service.orders.list_orders()
    assert reconciled.order_id == "PO-000001"
    assert later == []
    assert len(made) == 1


async def test_a_failed_order_is_recorded_once_and_not_retried(tmp_path: Path) -> None:
    async with service_on(tmp_path, design_exists=lambda design: False) as service:
        raised = await service.observe(every_minute(0, 11, 0.3, rul_low=70.0))
        again = await service.observe(every_minute(11, 30, 0.3, rul_low=60.0))
    async with service_on(tmp_path, design_exists=lambda design: False) as service:
        after_restart = await service.observe(every_minute(41, 30, 0.3, rul_low=50.0))
        orders = await service.orders.list_orders()
    assert [a.order_error for a in raised] == [
        "no design 'bearing-housing' is registered at this site"
    ]
    assert again == after_restart == []
    assert orders == []


async def test_notifications_written_before_a_crash_are_handed_over_once(tmp_path: Path) -> None:
    store = AlertStore(tmp_path / "alerts.sqlite")
    store.insert(AlertPolicy(SETTINGS).observe_all(every_minute(0, 11, 2.5))[0])
    store.close()  # crashed before handing alert.raised to the notifier
    hook = WebhookNotifier(tmp_path / "queue.sqlite", "http://127.0.0.1:9/unused", SECRET)
    async with service_on(tmp_path, notifier=hook):
        pending = [q.key for q in await hook.pending()]
    async with service_on(tmp_path, notifier=hook):
        pending_again = [q.key for q in await hook.pending()]
    await hook.close()
    assert pending == pending_again == ["AL-000001:alert.raised"]


async def test_replacement_clears_and_a_new_wear_gets_its_own_alert_and_order(
    tmp_path: Path,
) -> None:
    async with service_on(tmp_path) as service:
        await service.observe(WEAR[:AFTER_ORDER])
        replaced = await service.replaced(MILL, BEARING, WEAR[AFTER_ORDER].score.ts)
        nothing = await service.replaced(MILL, BEARING, WEAR[AFTER_ORDER].score.ts)
        healthy = await service.observe(every_minute(46 * 60 + 1, 30, 0.5, rul_low=400.0))
        worn_again = await service.observe(every_minute(47 * 60, 11, 0.3, rul_low=20.0))
        orders = await service.orders.list_orders()
    assert replaced is not None
    assert (replaced.state, replaced.clear_reason, replaced.order_id) == (
        AlertState.CLEARED,
        "replaced",
        "PO-000001",
    )
    assert alarm_message(replaced).endswith(
        "Print order PO-000001 raised for bearing-housing. "
        "Cleared: Spindle bearing of mill-1 was replaced."
    )
    assert nothing is None
    assert healthy == []
    assert [(a.id, a.order_id) for a in worn_again] == [("AL-000002", "PO-000002")]
    assert sorted((o.id, o.alert_id) for o in orders) == [
        ("PO-000001", "AL-000001"),
        ("PO-000002", "AL-000002"),
    ]


async def test_the_alerts_command_lists_open_alerts_with_their_orders(tmp_path: Path) -> None:
    async with service_on(tmp_path) as service:
        await service.observe(WEAR[:AFTER_ORDER])
        acknowledged = await service.acknowledge("AL-000001", "planner-eva")
        twice = await service.acknowledge("AL-000001", "planner-eva")
        await service.orders.update_state("PO-000001", OrderState.DISPATCHED, actor="mes")
        rows = await active_alert_rows(service.store, service.orders)
        table = render_alert_table(rows)
        with pytest.raises(NotFoundError):
            await service.acknowledge("AL-000099", "planner-eva")
        await service.replaced(MILL, BEARING, at(47 * 60))
        with pytest.raises(AlertStateError):
            await service.acknowledge("AL-000001", "planner-eva")
        after_clear = await active_alert_rows(service.store, service.orders)
    assert (acknowledged.state, acknowledged.acknowledged_by) == (
        AlertState.ACKNOWLEDGED,
        "planner-eva",
    )
    assert twice == acknowledged
    assert [(r.alert_id, r.order_id, r.order_state, r.lead_time_h) for r in rows] == [
        ("AL-000001", "PO-000001", "dispatched", 60.0)
    ]
    assert "AL-000001  mill-1   spindle_bearing  alarm  acknowledged" in table
    assert "PO-000001 (dispatched)" in table
    assert after_clear == []
