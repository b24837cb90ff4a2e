"""Patch shared_attribute_values: equal attribute values of many nodes are one object."""

# Replaces AttributeValue.__init__, NodeManagementService._add_node_attributes and
# _add_node_attr, and wraps the four AddressSpace functions that change an attribute in place
# (write_attribute_value, set_attribute_value_callback, set_attribute_value_setter,
# add_datachange_callback) (asyncua 2.1.0).
#
# Why: every node holds a DataValue, Variant and StatusCode per attribute (15 for a variable),
# each in its own AttributeValue in its own dict, and most are equal across nodes:
# AccessLevel, ValueRank, DataType, WriteMask, a tag's BrowseName and DisplayName on every
# machine. A site of 1000 machines x 20 tags built ~86,000 nodes at ~4.4 KB each (tracemalloc:
# `AttributeValue(dv)` in _add_node_attr alone held 150 MB). Three levels of sharing:
#
# - DataValues: AttributeValue.__init__ stores, for a scalar value of an immutable type (or a
#   null array), the first equal DataValue seen instead of its own. asyncua never changes a
#   stored DataValue in place (a write replaces `AttributeValue.value`), so sharing one is
#   indistinguishable from holding a copy. Arrays, structures, values of the site's own
#   NodeIds, long strings and values stamped when their node was added are kept as given
#   (they rarely repeat). Every attribute starts with one shared, read-only empty table of
#   data-change callbacks instead of its own empty dict.
# - AttributeValues: a node's attributes other than Value whose DataValue is shared are one
#   read-only `SharedAttributeValue` per distinct value, and the NodeId attribute is one per
#   address space that answers each node's own NodeId when read (a new node owns only its
#   Value attribute). Before asyncua changes an attribute in place (a write, a value
#   callback or setter, a data-change callback) the wrapped functions give the node its own
#   AttributeValue holding the same DataValue, so a change never reaches another node; any
#   other attempt to change a shared one raises instead of changing them all.
# - Attribute tables: a node's dict becomes a `LayeredAttributes` (opcua_server.fastpath
#   .shapes): its own attributes over one shape shared by the nodes whose shared attributes
#   are the same objects (every variable of one tag on every machine).
#
# `set_first_value` stores the one WAITING_FOR_INITIAL_DATA value in every tag variable just
# added, where a write would store a copy per variable.
#
# Peak RSS at 1000 machines x 20 tags (bench/memory.py, with shared_reference_parts and
# standard_nodes_code_released): 554 -> 286 MB. Reads, browses and writes answer exactly as
# on asyncua's own code (tests/integration/opcua/test_memory_patches.py compares both address
# spaces); a read or `get` of an attribute now passes through one Python-level method of the
# table (~0.1-0.2 µs). Process-wide.
#
# Checked: the source digests of every function replaced or wrapped and of those that read or
# pop the callback table, and the field layouts of DataValue and Variant. A wrapper carries
# the wrapped function's source (functools.wraps), so the patches that rely on
# write_attribute_value still see asyncua's function under it.

from __future__ import annotations

import enum
import functools
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from asyncua import Server, ua
from asyncua.server.address_space import (
    AddressSpace,
    AttributeValue,
    NodeData,
    NodeManagementService,
)

from opcua_server.fastpath.copies import DATA_VALUE_FIELDS
from opcua_server.fastpath.patching import Patch, Target, installed
from opcua_server.fastpath.shapes import layered

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
    if variant.Dimensions is not None or (variant.is_array and variant.Value is not None):
        return None  # a null array (ArrayDimensions of most variables) is shared
    if status is not None and type(status) is not ua.StatusCode:
        return None
    if value.SourceTimestamp is not None or value.ServerTimestamp is not None:
        return None  # a value stamped when its node was added: equal to no other
    inner = _value_key(variant.Value)
    if inner is None and variant.Value is not None:
        return None
    return (
        type(variant.Value),
        variant.VariantType,
        variant.is_array,
        inner,
        None if status is None else status.value,
        value.Encoding,
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


class SharedAttributeValue(AttributeValue):  # type: ignore[misc]  # asyncua is untyped to mypy here
    """An AttributeValue that many nodes hold: read-only; a node owns a copy before a change."""

    def __init__(
        self,
        value: ua.DataValue | None,
        callback: Callable[[ua.NodeId, ua.AttributeIds], ua.DataValue] | None = None,
    ) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "value_callback", callback)
        object.__setattr__(self, "value_setter", None)
        object.__setattr__(self, "datachange_callbacks", NO_CALLBACKS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(
            f"cannot set {name} of an attribute value many nodes share; "
            "opcua_server.fastpath.sharing.own_attribute gives the node its own first"
        )


_TEMPLATES: dict[Hashable, SharedAttributeValue] = {}
_VALUE = ua.AttributeIds.Value


def attribute_value(attribute: ua.AttributeIds, value: ua.DataValue) -> AttributeValue:
    """What a new node holds for ``attribute``: the shared read-only AttributeValue of an equal
    shared DataValue, or its own (always for Value, which changes all the time)."""
    key = None if attribute == _VALUE else shared_key(value)
    if key is None:
        return AttributeValue(value)
    try:
        template = _TEMPLATES.get(key)
    except TypeError:  # a value type whose equal instances cannot be hashed: kept as given
        return AttributeValue(value)
    if template is None:
        template = _TEMPLATES[key] = SharedAttributeValue(shared(value))
    return template


_NODE_IDS: weakref.WeakKeyDictionary[AddressSpace, SharedAttributeValue] = (
    weakref.WeakKeyDictionary()
)


def node_id_attribute(aspace: AddressSpace) -> SharedAttributeValue:
    """The NodeId attribute every node of ``aspace`` holds: read, it answers the DataValue
    asyncua stored (a Variant of the node's own NodeId object), built when asked."""
    held = _NODE_IDS.get(aspace)
    if held is None:
        space = weakref.ref(aspace)

        def node_id_value(nodeid: ua.NodeId, _attr: ua.AttributeIds) -> ua.DataValue:
            now = space()
            node = None if now is None else now.get(nodeid)
            own = nodeid if node is None else node.nodeid
            return ua.DataValue(ua.Variant(own, ua.VariantType.NodeId))

        held = _NODE_IDS[aspace] = SharedAttributeValue(None, node_id_value)
    return held


def own_attribute(node: NodeData, attribute: ua.AttributeIds) -> None:
    """Give ``node`` its own AttributeValue for ``attribute`` (same DataValue) if it shares one."""
    held = node.attributes.get(attribute)
    if type(held) is SharedAttributeValue:
        value = held.value
        if held.value_callback is not None:
            value = held.value_callback(node.nodeid, attribute)
        node.attributes[attribute] = AttributeValue(value)


WAITING_FOR_INITIAL_DATA = ua.DataValue(
    ua.Variant(None, ua.VariantType.Null),
    StatusCode=ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData),
)
"""What a variable holds until its first reading (asyncua stores a Bad value as a null Variant);
one object for every variable, as no one changes a stored DataValue in place."""


async def set_first_value(server: Server, nodeid: ua.NodeId, value: ua.DataValue) -> None:
    """Store a Bad ``value`` with a null Variant (what asyncua stores for a Bad write) in a
    variable just added, as ``server.write_attribute_value`` would, but as the very object
    given, so that many variables can hold one. Anything else is written through asyncua."""
    node = server.iserver.aspace.get(nodeid)
    held = None if node is None else node.attributes.get(_VALUE)
    stored_as_given = (
        value.StatusCode is not None
        and value.StatusCode.is_bad()
        and value.Value == ua.Variant(None, ua.VariantType.Null)
    )
    if (
        not stored_as_given
        or PATCH.name not in installed()
        or held is None
        or held.value_setter is not None
        or held.datachange_callbacks
    ):
        await server.write_attribute_value(nodeid, value)
        return
    held.value = value
    held.value_callback = None


def _owning(nodes: Mapping[ua.NodeId, NodeData], nodeid: ua.NodeId, attr: ua.AttributeIds) -> None:
    node = nodes.get(nodeid)
    if node is not None:
        own_attribute(node, attr)


_asyncua_write = AddressSpace.write_attribute_value
_asyncua_set_callback = AddressSpace.set_attribute_value_callback
_asyncua_set_setter = AddressSpace.set_attribute_value_setter


@functools.wraps(_asyncua_write)
async def _write_attribute_value(
    self: AddressSpace, nodeid: ua.NodeId, attr: ua.AttributeIds, value: ua.DataValue
) -> ua.StatusCode:
    """AddressSpace.write_attribute_value (asyncua 2.1.0) on the node's own attribute."""
    _owning(self._nodes, nodeid, attr)
    written: Awaitable[ua.StatusCode] = _asyncua_write(self, nodeid, attr, value)
    return await written


@functools.wraps(_asyncua_set_callback)
def _set_attribute_value_callback(
    self: AddressSpace, nodeid: ua.NodeId, attr: ua.AttributeIds, callback: Any
) -> ua.StatusCode:
    """AddressSpace.set_attribute_value_callback (asyncua 2.1.0) on the node's own attribute."""
    _owning(self._nodes, nodeid, attr)
    return _asyncua_set_callback(self, nodeid, attr, callback)


@functools.wraps(_asyncua_set_setter)
def _set_attribute_value_setter(
    self: AddressSpace, nodeid: ua.NodeId, attr: ua.AttributeIds, setter: Any
) -> ua.StatusCode:
    """AddressSpace.set_attribute_value_setter (asyncua 2.1.0) on the node's own attribute."""
    _owning(self._nodes, nodeid, attr)
    return _asyncua_set_setter(self, nodeid, attr, setter)


def _add_node_attributes(
    self: NodeManagementService, nodedata: NodeData, item: ua.AddNodesItem, add_timestamps: bool
) -> None:
    """NodeManagementService._add_node_attributes (asyncua 2.1.0) with shared values."""
    attributes = nodedata.attributes
    attributes[ua.AttributeIds.NodeId] = node_id_attribute(self._aspace)
    attributes[ua.AttributeIds.BrowseName] = attribute_value(
        ua.AttributeIds.BrowseName,
        ua.DataValue(ua.Variant(item.BrowseName, ua.VariantType.QualifiedName)),
    )
    attributes[ua.AttributeIds.NodeClass] = attribute_value(
        ua.AttributeIds.NodeClass, ua.DataValue(ua.Variant(item.NodeClass, ua.VariantType.Int32))
    )
    self._add_nodeattributes(item.NodeAttributes, nodedata, add_timestamps)
    nodedata.attributes = layered(attributes, SharedAttributeValue)


def _add_node_attr(
    self: NodeManagementService,
    attributes: Any,
    nodedata: NodeData,
    name: str,
    vtype: ua.VariantType | None = None,
    add_timestamps: bool = False,
    is_array: bool = False,
) -> None:
    """NodeManagementService._add_node_attr (asyncua 2.1.0) with shared values."""
    if attributes.SpecifiedAttributes & getattr(ua.NodeAttributesMask, name):
        value = getattr(attributes, name)
        if name == "DataTypeDefinition" and not isinstance(value, ua.DataTypeDefinition):
            variant = ua.Variant(None, ua.VariantType.Null)
        else:
            variant = ua.Variant(value, vtype, is_array=is_array)
        dv = ua.DataValue(
            variant,
            SourceTimestamp=datetime.now(UTC) if add_timestamps else None,
            ServerTimestamp=datetime.now(UTC)
            if add_timestamps and self._aspace.force_server_timestamp
            else None,
        )
        attribute = getattr(ua.AttributeIds, name)
        nodedata.attributes[attribute] = attribute_value(attribute, dv)


def _add_datachange_callback(
    self: AddressSpace, nodeid: ua.NodeId, attr: ua.AttributeIds, callback: Callable[..., Any]
) -> tuple[ua.StatusCode, int]:
    """AddressSpace.add_datachange_callback (asyncua 2.1.0), giving the node its own attribute
    and the attribute its own callback table first."""
    if nodeid not in self._nodes:
        return ua.StatusCode(ua.StatusCodes.BadNodeIdUnknown), 0
    node = self._nodes[nodeid]
    if attr not in node.attributes:
        return ua.StatusCode(ua.StatusCodes.BadAttributeIdInvalid), 0
    own_attribute(node, attr)
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
            _write_attribute_value,
        ),
        Target(
            AddressSpace,
            "set_attribute_value_callback",
            "2ca2f7fb31a3dc79df9ddd7d1809a16ead14a09914d18a529c982adb02905d0d",
            _set_attribute_value_callback,
        ),
        Target(
            AddressSpace,
            "set_attribute_value_setter",
            "1b8fdf584e8a115768074bd4d9dfb8dc32b28c4585c34825be3e664481f1baef",
            _set_attribute_value_setter,
        ),
        Target(
            NodeManagementService,
            "_add_node_attributes",
            "52f339c11e611cd036cfd681f08b00924efeb897ca994e48a321fc55df8eb2f0",
            _add_node_attributes,
        ),
        Target(
            NodeManagementService,
            "_add_node_attr",
            "6d79bd9f63db0171b50498048f92ced1e851b5e347ddc260450063d489758135",
            _add_node_attr,
        ),
        Target(
            NodeManagementService,
            "_add_nodeattributes",
            "0c9490901a2e4b2a7cb4c61d6cce6507b550bbeae2f4dc6dd2e5ce9f67270cfe",
        ),
    ),
    (
        (ua.DataValue, DATA_VALUE_FIELDS),
        (ua.Variant, ("Value", "VariantType", "Dimensions", "is_array")),
    ),
)
