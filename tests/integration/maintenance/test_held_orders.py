"""Held print orders: held while created or dispatched, kept over a restart, released to the
state they had or cancelled, and never moved on by the print flow while held."""

from __future__ import annotations

from pathlib import Path

import pytest

from maintenance.orders import OrderStateError, SqliteOrderBook
from models import OrderState
from models.timebase import ManualClock
from tests.unit.maintenance.alerts.policy_kit import DESIGN, T0

pytestmark = pytest.mark.asyncio(loop_scope="session")


def book(folder: Path) -> SqliteOrderBook:
    return SqliteOrderBook(folder / "orders.sqlite", clock=ManualClock(T0))


async def test_held_orders_survive_a_restart_and_are_released_to_the_state_they_had(
    tmp_path: Path,
) -> None:
    orders = book(tmp_path)
    created = await orders.create_order(DESIGN, 1, "stock", "mes")
    dispatched = await orders.create_order(DESIGN, 1, "stock", "mes")
    await orders.update_state(dispatched.id, OrderState.DISPATCHED, actor="flow", printer="am-2")
    for order in (created, dispatched):
        held = await orders.hold_order(order.id, "qe-anna", "recall RC-0001")
        assert (held.state, held.state_reason) == (OrderState.HELD, "recall RC-0001")
        assert held.state.isa95 == "Interrupted"
    await orders.close()

    orders = book(tmp_path)
    try:
        listed = await orders.list_orders([OrderState.HELD])
        assert [o.id for o in listed] == [dispatched.id, created.id]
        assert await orders.list_orders([OrderState.CREATED, OrderState.DISPATCHED]) == []
        released = await orders.release_order(created.id, "qe-ben")
        assert (released.state, released.state_reason) == (OrderState.CREATED, "")
        released = await orders.release_order(dispatched.id, "qe-ben", "lot cleared")
        assert (released.state, released.printer) == (OrderState.DISPATCHED, "am-2")
    finally:
        await orders.close()


async def test_a_held_order_is_not_moved_on_and_may_be_cancelled(tmp_path: Path) -> None:
    orders = book(tmp_path)
    try:
        order = await orders.create_order(DESIGN, 1, "stock", "mes")
        await orders.hold_order(order.id, "qe-anna", "recall RC-0002")
        for state in (OrderState.DISPATCHED, OrderState.PRINTING, OrderState.CREATED):
            with pytest.raises(OrderStateError, match="it cannot become"):
                await orders.update_state(order.id, state, actor="printflow", printer="am-1")
        with pytest.raises(OrderStateError, match="it cannot become held"):
            await orders.hold_order(order.id, "qe-anna", "twice")
        cancelled = await orders.cancel_order(order.id, "qe-anna")
        assert cancelled.state is OrderState.CANCELLED
        with pytest.raises(OrderStateError, match="not held: nothing to release"):
            await orders.release_order(order.id, "qe-ben")
    finally:
        await orders.close()


async def test_an_order_that_started_printing_cannot_be_held(tmp_path: Path) -> None:
    orders = book(tmp_path)
    try:
        order = await orders.create_order(DESIGN, 1, "stock", "mes")
        await orders.update_state(order.id, OrderState.DISPATCHED, actor="flow", printer="am-1")
        await orders.update_state(order.id, OrderState.PRINTING, actor="flow")
        with pytest.raises(OrderStateError, match="printing: it cannot become held"):
            await orders.hold_order(order.id, "qe-anna", "recall RC-0003")
    finally:
        await orders.close()
