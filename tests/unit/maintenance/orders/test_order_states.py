"""The print order's state machine and request checks, pure: no file, no event loop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from maintenance.orders import check_request, check_transition
from models import (
    MAX_ORDER_QUANTITY,
    NEXT_STATES,
    InvalidRequestError,
    InvalidStateError,
    OrderState,
    OutOfRangeError,
    PrintOrder,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FINAL = (OrderState.CERTIFIED, OrderState.REJECTED, OrderState.CANCELLED)


def order_in(state: OrderState) -> PrintOrder:
    return PrintOrder(
        id="PO-000001",
        design_id="bearing-housing",
        quantity=1,
        state=state,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize("state", [OrderState.CREATED, OrderState.DISPATCHED])
def test_an_order_the_printer_agent_refuses_before_printing_can_be_rejected(
    state: OrderState,
) -> None:
    check_transition(order_in(state), OrderState.REJECTED)


@pytest.mark.parametrize("state", [OrderState.CREATED, OrderState.DISPATCHED])
def test_only_an_order_not_yet_printing_can_be_cancelled(state: OrderState) -> None:
    check_transition(order_in(state), OrderState.CANCELLED)
    for later in (OrderState.PRINTING, OrderState.PRINTED):
        with pytest.raises(InvalidStateError, match="cannot become cancelled"):
            check_transition(order_in(later), OrderState.CANCELLED)


@pytest.mark.parametrize("final", FINAL)
def test_a_final_order_never_changes_again(final: OrderState) -> None:
    for state in OrderState:
        with pytest.raises(InvalidStateError, match=r"allowed next: none \(final\)"):
            check_transition(order_in(final), state)


def test_every_state_but_the_final_ones_leads_somewhere_and_only_a_release_leads_back() -> None:
    assert set(NEXT_STATES) == set(OrderState) - set(FINAL)
    back = [state for state, following in NEXT_STATES.items() if OrderState.CREATED in following]
    assert back == [OrderState.HELD]


@pytest.mark.parametrize("state", [OrderState.CREATED, OrderState.DISPATCHED])
def test_a_held_order_goes_back_only_when_released(state: OrderState) -> None:
    check_transition(order_in(state), OrderState.HELD)
    check_transition(order_in(OrderState.HELD), state, releasing=True)
    check_transition(order_in(OrderState.HELD), OrderState.CANCELLED)
    with pytest.raises(InvalidStateError, match="allowed next: cancelled"):
        check_transition(order_in(OrderState.HELD), state)
    for later in (OrderState.PRINTING, OrderState.PRINTED, OrderState.REJECTED):
        with pytest.raises(InvalidStateError, match="cannot become"):
            check_transition(order_in(OrderState.HELD), later, releasing=True)


@pytest.mark.parametrize("quantity", [0, -1, MAX_ORDER_QUANTITY + 1])
def test_a_quantity_outside_the_order_limit_is_out_of_range(quantity: int) -> None:
    with pytest.raises(OutOfRangeError, match=f"not in 1..{MAX_ORDER_QUANTITY}"):
        check_request("bearing-housing", quantity, "", "mes", "A")


def test_the_order_limit_is_the_one_the_order_record_allows() -> None:
    check_request("bearing-housing", MAX_ORDER_QUANTITY, "", "mes", "A")
    largest = order_in(OrderState.CREATED).model_copy(update={"quantity": MAX_ORDER_QUANTITY})
    assert PrintOrder.model_validate(largest.model_dump()).quantity == MAX_ORDER_QUANTITY
    with pytest.raises(ValueError, match="less than or equal"):
        PrintOrder.model_validate(largest.model_dump() | {"quantity": MAX_ORDER_QUANTITY + 1})


def test_other_bad_arguments_stay_invalid_requests_not_out_of_range() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_request("bearing housing", 1, "", "mes", "A")
    assert not isinstance(caught.value, OutOfRangeError)
