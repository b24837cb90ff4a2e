"""The order book refuses what the licence cannot cover and keeps why an order was rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from maintenance.orders import SqliteOrderBook
from models import OrderState, OutOfRangeError
from models.timebase import ManualClock
from tests.unit.maintenance.alerts.policy_kit import DESIGN, T0

pytestmark = pytest.mark.asyncio(loop_scope="session")

PIECES_LEFT = 100


async def licence_of_100(design_id: str, revision: str, quantity: int) -> str | None:
    """What the site's ledger answers for a licence of 100 pieces, none used yet."""
    if quantity <= PIECES_LEFT:
        return None
    return f"the licence for design {design_id} revision {revision} leaves {PIECES_LEFT} pieces"


def book(folder: Path) -> SqliteOrderBook:
    return SqliteOrderBook(
        folder / "orders.sqlite", clock=ManualClock(T0), licence_check=licence_of_100
    )


async def test_an_order_above_the_pieces_left_is_out_of_range_and_not_stored(
    tmp_path: Path,
) -> None:
    orders = book(tmp_path)
    with pytest.raises(OutOfRangeError, match="leaves 100 pieces") as refused:
        await orders.create_order(DESIGN, 10_000, "stock", "mes")
    with pytest.raises(OutOfRangeError):
        await orders.create_order_for_alert("AL-000001", DESIGN, 101, "bearing")
    fits = await orders.create_order(DESIGN, PIECES_LEFT, "stock", "mes")
    stored = await orders.list_orders()
    await orders.close()
    assert "larger licence" in refused.value.advice
    assert [o.id for o in stored] == [fits.id]


async def test_an_order_refused_before_printing_is_rejected_with_the_reason(
    tmp_path: Path,
) -> None:
    orders = book(tmp_path)
    order = await orders.create_order(DESIGN, 1, "stock", "mes")
    why = "the local dossier hashes to 11.., the chain registers 22.."
    rejected = await orders.update_state(order.id, OrderState.REJECTED, actor="printflow", note=why)
    await orders.close()
    reopened = book(tmp_path)
    stored = await reopened.get_order(order.id)
    await reopened.close()
    assert (rejected.state, rejected.state_reason) == (OrderState.REJECTED, why)
    assert (stored.state, stored.state_reason) == (OrderState.REJECTED, why)


async def test_only_orders_that_ended_unfulfilled_carry_a_reason(tmp_path: Path) -> None:
    orders = book(tmp_path)
    cancelled = await orders.create_order(DESIGN, 1, "stock", "mes")
    await orders.cancel_order(cancelled.id, "planner")
    printing = await orders.create_order(DESIGN, 1, "stock", "mes")
    await orders.update_state(printing.id, OrderState.DISPATCHED, actor="printflow", printer="am-1")
    listed = {o.id: o for o in await orders.list_orders()}
    await orders.close()
    assert listed[cancelled.id].state_reason == "cancelled by planner"
    assert listed[printing.id].state_reason == ""
    assert listed[printing.id].printer == "am-1"
