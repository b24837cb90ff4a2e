"""Patch shared_attribute_values: equal attribute values of many nodes are one DataValue."""

# Replaces AttributeValue.__init__ and AddressSpace.add_datachange_callback (asyncua 2.1.0).
#
# Why: every node holds a DataValue, Variant and StatusCode per attribute (15 for a variable),
# and most are equal across nodes: AccessLevel, ValueRank, DataType, WriteMask, a tag's
# BrowseName and DisplayName on every machine, the initial value. A site of 1000 machines ×
# 20 tags built ~80,000 nodes at ~8 KB each. The new __init__ stores, for a scalar value of an
# immutable type, the first equal DataValue seen instead of its own. asyncua never changes a
# stored DataValue in place (a write replaces `AttributeValue.value`), so sharing one is
# indistinguishable from holding a copy. Arrays, structures, values of the site's own NodeIds
# and long strings are kept as given (they rarely repeat). Likewise every attribute starts
# with one shared, read-only empty table of data-change callbacks instead of its own empty dict
# (64 bytes × ~15 attributes × every node); add_datachange_callback gives an attribute its own
# dict when its first callback (a monitored item) arrives. asyncua only iterates the table
# elsewhere, and pops handles only from attributes that got one. Process-wide;
# behaviour-preserving.
#
# Checked: the source digests of AttributeValue.__init__, add_datachange_callback and the
# functions that read or pop the callback table, and the field layouts of DataValue and
# Variant.

from __future__ import annotations

import enum
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace, AttributeValue, NodeManagementService

from opcua_server.fastpath.copies import DATA_VALUE_FIELDS
from opcua_server.fastpath.patching import Patch, Target

_LONGEST_SHARED_TEXT = 64
_SHARED: dict[Hashable, ua.DataValue] = {}
_SCALARS = (int, bool, str, bytes, datetime, type(None))
NO_CALLBACKS: Mapping[int, Callable[..., Any]] = MappingProxyType({})
"""The callback table of every attribute until its first data-change callback (read-only)."""


def _value_key(value: object) -> Hashable | None:
    """A key equal only for values that are equal and of one type, or None (not shared)."""
    kind = type(value)
    if kind is float:
        return repr(value)  # keeps 0.0 and -0.0 apart
    if kind is ua.LocalizedText:
        text: ua.LocalizedText = value
        return (text.Encoding, text.Locale, text.Text)
    if kind is ua.QualifiedName:
        name: ua.QualifiedName = value
        return (name.NamespaceIndex, name.Name)
    if isinstance(value, ua.NodeId):
        return value if value.NamespaceIndex == 0 else None
    if kind in _SCALARS or isinstance(value, enum.Enum):
        long_text = isinstance(value, str | bytes) and len(value) > _LONGEST_SHARED_TEXT
        return None if long_text else value
    return None


def shared_key(value: ua.DataValue) -> Hashable | None:
    """The key under which an equal DataValue is shared, or None when ``value`` is kept."""
    variant, status = value.Value, value.StatusCode
    if type(value) is not ua.DataValue or type(variant) is not ua.Variant:
        return None
    if variant.is_array or variant.Dimensions is not None:
        return None
    if status is not None and type(status) is not ua.StatusCode:
        return None
    inner = _value_key(variant.Value)
    if inner is None and variant.Value is not None:
        return None
    return (
        type(variant.Value),
        variant.VariantType,
        inner,
        None if status is None else status.value,
        value.Encoding,
        value.SourceTimestamp,
        value.ServerTimestamp,
        value.SourcePicoseconds,
        value.ServerPicoseconds,
    )


def shared(value: ua.DataValue) -> ua.DataValue:
    """The DataValue kept for ``value``'s key (``value`` itself the first time, or when kept)."""
    key = shared_key(value)
    if key is None:
        return value
    try:
        return _SHARED.setdefault(key, value)
    except TypeError:  # a value type whose equal instances cannot be hashed: kept as given
        return value


def _init(self: AttributeValue, value: ua.DataValue) -> None:
    """AttributeValue.__init__ (asyncua 2.1.0), holding a shared DataValue."""
    self.value = shared(value) if value is not None else None
    self.value_callback = None
    self.value_setter = None
    self.datachange_callbacks = NO_CALLBACKS  # read-only until its first callback


def _add_datachange_callback(
    self: AddressSpace, nodeid: ua.NodeId, attr: ua.AttributeIds, callback: Callable[..., Any]
) -> tuple[ua.StatusCode, int]:
    """AddressSpace.add_datachange_callback (asyncua 2.1.0), giving the attribute its own
    callback table first."""
    if nodeid not in self._nodes:
        return ua.StatusCode(ua.StatusCodes.BadNodeIdUnknown), 0
    node = self._nodes[nodeid]
    if attr not in node.attributes:
        return ua.StatusCode(ua.StatusCodes.BadAttributeIdInvalid), 0
    attval = node.attributes[attr]
    if attval.datachange_callbacks is NO_CALLBACKS:
        attval.datachange_callbacks = {}
    self._datachange_callback_counter += 1
    handle = self._datachange_callback_counter
    attval.datachange_callbacks[handle] = callback
    self._handle_to_attribute_map[handle] = (nodeid, attr)
    return ua.StatusCode(), handle


PATCH = Patch(
    "shared_attribute_values",
    (
        Target(
            AttributeValue,
            "__init__",
            "2d9ac6868195e11ff321c6310d7c52b3eb44f8bb62e512663ff58c70e79ab839",
            _init,
        ),
        Target(
            AddressSpace,
            "add_datachange_callback",
            "afb2b5eeec48d3328f97959c79043ac16ed5861e81acdc7b4cffbf3c0091517d",
            _add_datachange_callback,
        ),
        Target(
            AddressSpace,
            "delete_datachange_callback",
            "f1b970017dd746579caf0a603ecac82fadb20a19a139bd03dc1e669326f7acbf",
        ),
        Target(
            NodeManagementService,
            "_delete_node_callbacks",
            "5c567677e66b6baae7e9ef25deb56618bfa33b1c87887054b33c09a681552c21",
        ),
        Target(
            AddressSpace,
            "write_attribute_value",
            "5887d38687e80d6721ce9ea4ea23e74ad6d0254cfa21ee214b470ea1d4915c57",
        ),
    ),
    (
        (ua.DataValue, DATA_VALUE_FIELDS),
        (ua.Variant, ("Value", "VariantType", "Dimensions", "is_array")),
    ),
)
