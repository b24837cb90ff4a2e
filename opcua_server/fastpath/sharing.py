"""Patch shared_attribute_values: equal attribute values of many nodes are one DataValue."""

# Replaces AttributeValue.__init__ (asyncua 2.1.0).
#
# Why: every node holds a DataValue, Variant and StatusCode per attribute (15 for a variable),
# and most are equal across nodes: AccessLevel, ValueRank, DataType, WriteMask, a tag's
# BrowseName and DisplayName on every machine, the initial value. A site of 1000 machines ×
# 20 tags built ~80,000 nodes at ~8 KB each. The new __init__ stores, for a scalar value of an
# immutable type, the first equal DataValue seen instead of its own. asyncua never changes a
# stored DataValue in place (a write replaces `AttributeValue.value`), so sharing one is
# indistinguishable from holding a copy. Arrays, structures, values of the site's own NodeIds
# and long strings are kept as given (they rarely repeat). Process-wide; behaviour-preserving.
#
# Checked: the source digest of AttributeValue.__init__ and the field layouts of DataValue
# and Variant.

from __future__ import annotations

import enum
from collections.abc import Hashable
from datetime import datetime

from asyncua import ua
from asyncua.server.address_space import AttributeValue

from opcua_server.fastpath.copies import DATA_VALUE_FIELDS
from opcua_server.fastpath.patching import Patch, Target

_LONGEST_SHARED_TEXT = 64
_SHARED: dict[Hashable, ua.DataValue] = {}
_SCALARS = (int, bool, str, bytes, datetime, type(None))


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
    self.datachange_callbacks = {}


PATCH = Patch(
    "shared_attribute_values",
    (
        Target(
            AttributeValue,
            "__init__",
            "2d9ac6868195e11ff321c6310d7c52b3eb44f8bb62e512663ff58c70e79ab839",
            _init,
        ),
    ),
    (
        (ua.DataValue, DATA_VALUE_FIELDS),
        (ua.Variant, ("Value", "VariantType", "Dimensions", "is_array")),
    ),
)
