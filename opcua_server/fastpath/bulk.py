"""Patch bulk_value_writes: many variables' values set in one call, as asyncua sets each one."""

# Relies on AddressSpace.write_attribute_value (asyncua 2.1.0); replaces nothing.
#
# Why: publishing a poll went through Server.write_attribute_value for every reading: three
# nested coroutines (server, internal server, address space) and a DataValue, Variant and
# StatusCode built through their dataclass __init__/__post_init__. `write_values` takes a whole
# batch and does, value by value, what AddressSpace.write_attribute_value does for the Value
# attribute: unknown nodes are skipped, a Bad status nulls the value (OPC 10000-4 §7.7.1), the
# variant type is checked against the variable's (only when it differs from the value held
# now, the only case the check can refuse), the value is stored, and every data-change
# callback (monitored items) is awaited. Variables with a value setter or callback go through
# asyncua's own call. `data_value` builds the DataValue the constructor would build, directly.
# Without the patch (asyncua changed), `write_values` writes through the server one by one.
# `write_doubles` takes a variable's Value AttributeValue from the slot where the
# shared_attribute_values patch keeps it (`LayeredAttributes.value`) without a method call;
# any other attribute table is asked by key.
#
# Checked: the source digest of AddressSpace.write_attribute_value and the field layouts of
# DataValue, Variant and StatusCode.

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from asyncua import Server, ua
from asyncua.server.address_space import AddressSpace, AttributeValue

from opcua_server.fastpath.copies import DATA_VALUE_FIELDS
from opcua_server.fastpath.patching import Patch, Target, installed
from opcua_server.fastpath.shapes import LayeredAttributes

log = logging.getLogger(__name__)

_VALUE = ua.AttributeIds.Value
_NULL = ua.VariantType.Null
_DOUBLE = ua.VariantType.Double
_GOOD = ua.StatusCodes.Good
_GOOD_CODE = ua.StatusCode(_GOOD)
_new = object.__new__


def scalar_variant(value: object, variant_type: ua.VariantType) -> ua.Variant:
    """``ua.Variant(value, variant_type)`` for a scalar of that type (not an array, not None)."""
    built = _new(ua.Variant)
    built.Value = value
    built.VariantType = variant_type
    built.Dimensions = None
    built.is_array = False
    return built


def data_value(
    value: ua.Variant, status: int, source_ts: datetime | None, server_ts: datetime | None
) -> ua.DataValue:
    """``ua.DataValue(value, StatusCode=ua.StatusCode(status), SourceTimestamp=source_ts,
    ServerTimestamp=server_ts)``, built directly."""
    code = _new(ua.StatusCode)
    code.value = status
    built = _new(ua.DataValue)
    built.Encoding = 0
    built.Value = value
    built.StatusCode = code
    built.SourceTimestamp = source_ts
    built.ServerTimestamp = server_ts
    built.SourcePicoseconds = None
    built.ServerPicoseconds = None
    return built


async def write_doubles(
    server: Server,
    node_ids: Sequence[ua.NodeId | None],
    numbers: Sequence[float],
    source_times: Sequence[datetime],
    server_ts: datetime,
) -> int:
    """``write_values`` of a Good Double DataValue per variable (None: no variable), with each
    DataValue built in the same pass; returns how many variables were written.

    Every value shares one Good StatusCode (nothing changes a StatusCode in place). A variable
    already holding a Double takes the value without asyncua's type check, which it passes.
    """
    if PATCH.name not in installed():
        pairs = zip(numbers, source_times, strict=True)
        values = (data_value(scalar_variant(n, _DOUBLE), _GOOD, t, server_ts) for n, t in pairs)
        writes = [(i, v) for i, v in zip(node_ids, values, strict=True) if i is not None]
        await write_values(server, writes)
        return len(writes)
    aspace: AddressSpace = server.iserver.aspace
    nodes, written = aspace._nodes, 0
    new, variant_class, value_class = _new, ua.Variant, ua.DataValue
    for node_id, number, source_ts in zip(node_ids, numbers, source_times, strict=True):
        node = None if node_id is None else nodes.get(node_id)
        if node is None:
            continue
        attributes = node.attributes
        own = attributes.value if type(attributes) is LayeredAttributes else None
        attval: AttributeValue | None = (
            own if type(own) is AttributeValue else attributes.get(_VALUE)
        )
        if attval is None:
            continue
        # one store per statement: packing the fields into a tuple to unpack them costs a third
        variant = new(variant_class)
        variant.Value = number
        variant.VariantType = _DOUBLE
        variant.Dimensions = None
        variant.is_array = False
        value = new(value_class)
        value.Encoding = 0
        value.Value = variant
        value.StatusCode = _GOOD_CODE
        value.SourceTimestamp = source_ts
        value.ServerTimestamp = server_ts
        value.SourcePicoseconds = None
        value.ServerPicoseconds = None
        if attval.value_setter is not None or attval.value_callback is not None:
            await aspace.write_attribute_value(node_id, _VALUE, value)
            written += 1
            continue
        held = attval.value
        held_double = held is not None and held.Value is not None
        if not (
            held_double and held.Value.VariantType is _DOUBLE
        ) and not aspace._is_expected_variant_type(value, attval, node):
            continue
        written += 1
        attval.value = value
        if attval.datachange_callbacks:
            await _tell(attval.datachange_callbacks, value, node_id)
    return written


async def _tell(callbacks: Mapping[Any, Any], value: ua.DataValue, node_id: ua.NodeId) -> None:
    """Await every data-change callback of a variable (monitored items), as asyncua does."""
    for handle, callback in callbacks.items():
        try:
            await callback(handle, value)
        except Exception:
            log.exception("data-change callback %s failed on %s", handle, node_id)


async def write_values(server: Server, writes: Iterable[tuple[ua.NodeId, ua.DataValue]]) -> None:
    """Set each variable's Value as ``server.write_attribute_value`` would (an unknown node or
    a value of another variant type is skipped, as asyncua skips it)."""
    if PATCH.name not in installed():
        for node_id, value in writes:
            await server.write_attribute_value(node_id, value)
        return
    aspace: AddressSpace = server.iserver.aspace
    nodes = aspace._nodes
    for node_id, value in writes:
        node = nodes.get(node_id)
        attval = None if node is None else node.attributes.get(_VALUE)
        if attval is None:
            continue
        if attval.value_setter is not None or attval.value_callback is not None:
            await aspace.write_attribute_value(node_id, _VALUE, value)
            continue
        if value.StatusCode is not None and value.StatusCode.is_bad():
            value = dataclasses.replace(value, Value=ua.Variant(None, ua.VariantType.Null))
        elif not _same_type(attval.value, value) and not aspace._is_expected_variant_type(
            value, attval, node
        ):
            continue
        attval.value = value
        if attval.datachange_callbacks:
            await _tell(attval.datachange_callbacks, value, node_id)


def _same_type(held: ua.DataValue | None, value: ua.DataValue) -> bool:
    """Whether ``value`` has the non-null variant type of the value held (then asyncua's type
    check passes)."""
    if held is None or held.Value is None or value.Value is None:
        return False
    held_type = held.Value.VariantType
    return held_type is value.Value.VariantType and held_type is not _NULL


PATCH = Patch(
    "bulk_value_writes",
    (
        Target(
            AddressSpace,
            "write_attribute_value",
            "5887d38687e80d6721ce9ea4ea23e74ad6d0254cfa21ee214b470ea1d4915c57",
        ),
        Target(
            AddressSpace,
            "_is_expected_variant_type",
            "5e02da8bbec7086b83ad60fe347945c93cf9926a972119833e8a3013b431af94",
        ),
    ),
    (
        (ua.DataValue, DATA_VALUE_FIELDS),
        (ua.Variant, ("Value", "VariantType", "Dimensions", "is_array")),
        (ua.StatusCode, ("value",)),
    ),
)
