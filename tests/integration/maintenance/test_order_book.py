"""The SQLite order book: ids, ISA-95 states, refusals, one order per alert, durability."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from maintenance.errors import MaintenanceError
from maintenance.orders import SqliteOrderBook
from models import (
    InvalidRequestError,
    InvalidStateError,
    NotFoundError,
    OrderBook,
    OrderState,
    PrintOrder,
)
from models.timebase import ManualClock
from tests.unit.maintenance.alerts.policy_kit import DESIGN, T0

pytestmark = pytest.mark.asyncio(loop_scope="session")

REPO = Path(__file__).resolve().parents[3]


def book(path: Path, design_exists: Callable[[str], bool] | None = None) -> SqliteOrderBook:
    return SqliteOrderBook(
        path / "orders.sqlite", clock=ManualClock(T0), design_exists=design_exists
    )


async def test_orders_get_sequential_ids_and_the_listener_sees_each_change(
    tmp_path: Path,
) -> None:
    orders = book(tmp_path)
    seen: list[tuple[str, OrderState]] = []

    async def listen(order: PrintOrder) -> None:
        seen.append((order.id, order.state))

    orders.add_listener(listen)
    port: OrderBook = orders
    first = await port.create_order(DESIGN, 2, "stock", "mes")
    second = await port.create_order(DESIGN, 1, "stock", "mes")
    await port.cancel_order(first.id, "planner")
    listed = await orders.list_orders()
    await orders.close()
    assert (first.id, second.id) == ("PO-000001", "PO-000002")
    assert (first.state, first.quantity, first.created_at, first.requested_by) == (
        OrderState.CREATED,
        2,
        T0,
        "mes",
    )
    assert [o.id for o in listed] == ["PO-000002", "PO-000001"]
    assert seen == [
        ("PO-000001", OrderState.CREATED),
        ("PO-000002", OrderState.CREATED),
        ("PO-000001", OrderState.CANCELLED),
    ]


async def test_an_order_follows_its_life_and_refuses_what_its_state_forbids(
    tmp_path: Path,
) -> None:
    orders = book(tmp_path)
    order = await orders.create_order(DESIGN, 1, "spare", "planner")
    dispatched = await orders.update_state(
        order.id, OrderState.DISPATCHED, actor="dispatcher", printer="am-1"
    )
    for state in (OrderState.PRINTING, OrderState.PRINTED, OrderState.CERTIFIED):
        await orders.update_state(order.id, state, actor="am-1")
    with pytest.raises(InvalidStateError, match="certified: it cannot become cancelled") as late:
        await orders.cancel_order(order.id, "planner")
    with pytest.raises(InvalidStateError, match=r"allowed next: none \(final\)"):
        await orders.update_state(order.id, OrderState.PRINTING, actor="am-1")
    printing = await orders.create_order(DESIGN, 1, "spare", "planner")
    await orders.update_state(printing.id, OrderState.DISPATCHED, actor="dispatcher")
    await orders.update_state(printing.id, OrderState.PRINTING, actor="am-1")
    with pytest.raises(InvalidStateError):
        await orders.cancel_order(printing.id, "planner")
    rejected = await orders.update_state(printing.id, OrderState.REJECTED, actor="am-1")
    final = await orders.get_order(order.id)
    await orders.close()
    assert isinstance(late.value, MaintenanceError)
    assert "cancelled only while created or dispatched" in late.value.advice
    assert dispatched.printer == "am-1"
    assert (final.state, final.printer) == (OrderState.CERTIFIED, "am-1")
    assert rejected.state is OrderState.REJECTED


@pytest.mark.parametrize(
    ("design", "quantity", "reason", "requested_by", "message"),
    [
        (DESIGN, 0, "", "mes", "quantity 0 is not in 1..10000"),
        (DESIGN, 10_001, "", "mes", "quantity 10001"),
        (DESIGN, True, "", "mes", "whole number"),
        ("bearing housing", 1, "", "mes", "letters, digits"),
        ("", 1, "", "mes", "letters, digits"),
        (DESIGN, 1, "x" * 4097, "mes", "reason is longer"),
        (DESIGN, 1, "", " ", "requested_by must not be empty"),
    ],
)
async def test_bad_requests_are_refused_and_nothing_is_stored(
    tmp_path: Path, design: str, quantity: int, reason: str, requested_by: str, message: str
) -> None:
    orders = book(tmp_path)
    with pytest.raises(InvalidRequestError, match=message):
        await orders.create_order(design, quantity, reason, requested_by)
    stored = await orders.list_orders()
    await orders.close()
    assert stored == []


async def test_unknown_orders_and_designs_are_not_found(tmp_path: Path) -> None:
    orders = book(tmp_path, design_exists=lambda design: design == DESIGN)
    with pytest.raises(NotFoundError, match="no design 'gear-7'"):
        await orders.create_order("gear-7", 1, "", "mes")
    for missing in ("PO-000042", "42", "PO-12"):
        with pytest.raises(NotFoundError):
            await orders.get_order(missing)
        with pytest.raises(NotFoundError):
            await orders.cancel_order(missing, "planner")
    await orders.close()


async def test_an_alert_gets_one_order_however_often_and_concurrently_it_asks(
    tmp_path: Path,
) -> None:
    orders = book(tmp_path)
    announced: list[str] = []

    async def listen(order: PrintOrder) -> None:
        announced.append(order.id)

    orders.add_listener(listen)
    racing = await asyncio.gather(
        *(orders.create_order_for_alert("AL-000001", DESIGN, 1, "bearing") for _ in range(5))
    )
    again = await orders.create_order_for_alert("AL-000001", DESIGN, 3, "again")
    other = await orders.create_order_for_alert("AL-000002", DESIGN, 1, "pump")
    await orders.close()
    reopened = book(tmp_path)
    after_restart = await reopened.create_order_for_alert("AL-000001", DESIGN, 1, "restart")
    found = await reopened.order_for_alert("AL-000001")
    everything = await reopened.list_orders()
    await reopened.close()
    assert {o.id for o in racing} == {again.id, after_restart.id} == {"PO-000001"}
    assert found == racing[0]
    assert (racing[0].alert_id, racing[0].requested_by, racing[0].quantity) == (
        "AL-000001",
        "maintenance",
        1,
    )
    assert other.id == "PO-000002"
    assert announced == ["PO-000001", "PO-000002"]
    assert len(everything) == 2


async def test_a_reopened_book_has_every_order_and_continues_the_ids(tmp_path: Path) -> None:
    orders = book(tmp_path)
    created = await orders.create_order(DESIGN, 4, "stock", "mes")
    await orders.update_state(created.id, OrderState.DISPATCHED, actor="x", printer="am-1")
    await orders.close()
    reopened = book(tmp_path)
    kept = await reopened.get_order(created.id)
    following = await reopened.create_order(DESIGN, 1, "stock", "mes")
    await reopened.close()
    assert (kept.state, kept.printer, kept.quantity) == (OrderState.DISPATCHED, "am-1", 4)
    assert following.id == "PO-000002"


CHILD = """
import asyncio, sys, time, types
from pathlib import Path

# Only the order book: skip the package's __init__, which loads scikit-learn (seconds here).
package = types.ModuleType("maintenance")
package.__path__ = [str(Path.cwd() / "maintenance")]
sys.modules["maintenance"] = package
from maintenance.orders import SqliteOrderBook


async def main() -> None:
    orders = SqliteOrderBook(Path(sys.argv[1]))
    order = await orders.create_order_for_alert("AL-000009", "bearing-housing", 1, "x")
    print(order.id, flush=True)
    time.sleep(60)


asyncio.run(main())
"""


async def test_an_acknowledged_order_survives_a_kill_9(tmp_path: Path) -> None:
    """A process creates an order, prints its id, and is killed at once: the order is there."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        str(tmp_path / "orders.sqlite"),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert process.stdout is not None
        acknowledged = await asyncio.wait_for(process.stdout.readline(), 30)
    finally:
        process.kill()  # SIGKILL: no clean-up in the child
        await process.wait()
    reopened = book(tmp_path)
    order = await reopened.order_for_alert("AL-000009")
    await reopened.close()
    assert acknowledged.decode().strip() == "PO-000001"
    assert order is not None
    assert order.id == "PO-000001"


async def test_an_order_keeps_the_material_lot_the_mes_named(tmp_path: Path) -> None:
    orders = book(tmp_path)
    named = await orders.create_order(DESIGN, 1, "stock", "mes", material_lot="316L-B0042")
    unnamed = await orders.create_order(DESIGN, 1, "stock", "mes")
    with pytest.raises(InvalidRequestError, match="material lot"):
        await orders.create_order(DESIGN, 1, "stock", "mes", material_lot="x" * 65)
    with pytest.raises(InvalidRequestError, match="material lot"):
        await orders.create_order(DESIGN, 1, "stock", "mes", material_lot="L1\nL2")
    await orders.close()

    reopened = book(tmp_path)
    assert (await reopened.get_order(named.id)).material_lot == "316L-B0042"
    assert (await reopened.get_order(unnamed.id)).material_lot == ""
    assert [o.material_lot for o in await reopened.list_orders()] == ["", "316L-B0042"]
    await reopened.close()
