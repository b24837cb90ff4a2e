"""Reading the fields of a signed certificate document whose layout the schema guarantees."""

from __future__ import annotations

from collections.abc import Mapping

from ledger.canonical import JsonValue


def json_object(value: object) -> Mapping[str, JsonValue]:
    """``value`` as a JSON object; TypeError naming what was found instead."""
    if not isinstance(value, Mapping):
        raise TypeError(f"expected a JSON object, found {type(value).__name__}")
    return value


def json_list(value: object) -> list[object]:
    """``value`` as a JSON array (empty when absent or not an array)."""
    return list(value) if isinstance(value, list) else []
