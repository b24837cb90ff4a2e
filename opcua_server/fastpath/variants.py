"""Patch null_variant: a Variant of None is typed Null without a failed enum lookup."""

# Replaces ua.Variant._guess_type (asyncua 2.1.0).
#
# Why: after the copy (opcua_server.fastpath.copies) the rest of a monitored write went mostly
# into `ua.MonitoredItemNotification()`, which asyncua builds for every data change before it
# knows whether one is sent; its default DataValue() makes a Variant(None), whose type guess
# looked up 'NoneType' among the VariantType members through a raised-and-caught
# AttributeError (~3 µs) before answering Null. `_guess_type` answers Null for None first: the
# same answer, without the exception. Process-wide; behaviour-preserving.
#
# Checked: the source digest of Variant._guess_type, and that VariantType has no member
# named NoneType (the original would then answer that member, not Null).

from __future__ import annotations

from typing import Any

from asyncua import ua

from opcua_server.fastpath.patching import Patch, Target

_original_guess_type = ua.Variant._guess_type


def _guess_type(self: ua.Variant, val: Any) -> Any:
    """Variant._guess_type (asyncua 2.1.0): None is Null, as the original concludes last."""
    if val is None:
        return ua.VariantType.Null
    return _original_guess_type(self, val)


def _none_is_not_a_variant_type() -> str | None:
    if hasattr(ua.VariantType, "NoneType"):
        return "VariantType has a NoneType member"
    return None


PATCH = Patch(
    "null_variant",
    (
        Target(
            ua.Variant,
            "_guess_type",
            "74f3c30f862669844f9f31d6a357e523082d7c3e4f93b364744bfc5617c53f3b",
            _guess_type,
        ),
    ),
    precondition=_none_is_not_a_variant_type,
)
