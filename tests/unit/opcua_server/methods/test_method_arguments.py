"""Method arguments: counted, typed and bounded; an optional trailing one may be left out."""

from __future__ import annotations

import pytest
from asyncua import ua

from opcua_server.methods.table import Arg, check_arguments
from opcua_server.security.roles import RefusedError

INPUTS = (
    Arg("DesignId", ua.VariantType.String, "design"),
    Arg("Quantity", ua.VariantType.UInt32, "pieces"),
    Arg("MaterialLot", ua.VariantType.String, "lot", optional=True),
)


def text(value: str) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.String)


def count(value: int) -> ua.Variant:
    return ua.Variant(value, ua.VariantType.UInt32)


def test_an_optional_trailing_argument_may_be_left_out_or_empty() -> None:
    assert check_arguments(INPUTS, [text("bracket"), count(2)]) == ["bracket", 2, ""]
    assert check_arguments(INPUTS, [text("bracket"), count(2), text("")]) == ["bracket", 2, ""]
    assert check_arguments(INPUTS, [text("bracket"), count(2), text("L7")]) == ["bracket", 2, "L7"]


@pytest.mark.parametrize(
    ("variants", "status"),
    [
        ([text("bracket")], ua.StatusCodes.BadArgumentsMissing),
        ([text("bracket"), count(2), text("L7"), text("x")], ua.StatusCodes.BadTooManyArguments),
        ([text("bracket"), count(2), count(7)], ua.StatusCodes.BadTypeMismatch),
        ([text(" "), count(2)], ua.StatusCodes.BadInvalidArgument),
    ],
)
def test_required_arguments_are_still_checked(variants: list[ua.Variant], status: int) -> None:
    with pytest.raises(RefusedError) as refused:
        check_arguments(INPUTS, variants)
    assert refused.value.status == status
