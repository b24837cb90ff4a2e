"""What a job order asks to print: the design from its work master, the quantity either way."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from asyncua import ua

from opcua_server.methods.job_orders import (
    INVALID_REQUEST,
    JobOrderRefusedError,
    consumed_lot,
    requested_print,
)


def job_order(
    design: str | None = "bearing-housing",
    parameters: list[Any] | None = None,
    materials: list[Any] | None = None,
) -> SimpleNamespace:
    """The fields of ISA95JobOrderDataType that a print request reads."""
    return SimpleNamespace(
        WorkMasterID=[SimpleNamespace(ID=design)] if design is not None else None,
        JobOrderParameters=parameters,
        MaterialRequirements=materials,
    )


def quantity_parameter(value: object) -> SimpleNamespace:
    return SimpleNamespace(ID="Quantity", Value=ua.Variant(value))


def produced(quantity: str, use: str = "Produced") -> SimpleNamespace:
    return SimpleNamespace(MaterialUse=use, Quantity=quantity)


def test_quantity_from_the_job_order_parameter() -> None:
    assert requested_print(job_order(parameters=[quantity_parameter(4)])) == ("bearing-housing", 4)


def test_quantity_from_the_produced_material_as_a_decimal_string() -> None:
    materials = [produced("9", use="Consumed"), produced("3.0")]
    assert requested_print(job_order(materials=materials)) == ("bearing-housing", 3)


@pytest.mark.parametrize(
    "request_",
    [
        job_order(design=None, parameters=[quantity_parameter(1)]),
        job_order(design="  ", parameters=[quantity_parameter(1)]),
        job_order(),
        job_order(parameters=[quantity_parameter(0)]),
        job_order(parameters=[quantity_parameter(2.5)]),
        job_order(parameters=[quantity_parameter(True)]),
        job_order(parameters=[quantity_parameter(10_001)]),
        job_order(materials=[produced("NaN")]),
        job_order(materials=[produced("two")]),
    ],
)
def test_a_job_order_without_a_design_or_a_whole_quantity_is_an_invalid_request(
    request_: SimpleNamespace,
) -> None:
    with pytest.raises(JobOrderRefusedError) as refused:
        requested_print(request_)
    assert refused.value.return_status == INVALID_REQUEST


def test_the_lot_of_a_consumed_material_is_the_lot_asked_for() -> None:
    feedstock = SimpleNamespace(MaterialUse="Consumed", Quantity="2", MaterialLotID=" 316L-B7 ")
    unnamed = SimpleNamespace(MaterialUse="Consumed", Quantity="1", MaterialLotID=None)
    made = SimpleNamespace(MaterialUse="Produced", Quantity="1", MaterialLotID="OUT-1")
    assert consumed_lot(job_order(materials=[made, unnamed, feedstock])) == "316L-B7"
    assert consumed_lot(job_order(materials=[made])) == ""
    assert consumed_lot(job_order()) == ""
