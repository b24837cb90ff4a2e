"""Patch shared_reference_parts: references hold one object per distinct type id and name."""

# Replaces NodeManagementService._add_ref_from_parent and wraps _add_unique_reference
# (asyncua 2.1.0).
#
# Why: every node holds about three ReferenceDescriptions (its parent's forward reference to
# it, its inverse reference to the parent, its HasTypeDefinition), and asyncua gave each one
# its own NodeId objects for the reference type and the type definition (a fresh
# `NodeId(HasTypeDefinition)` per node, a fresh null ExpandedNodeId wherever there is no type
# definition) and, in the parent's reference, the BrowseName and DisplayName objects of the
# request rather than the ones the node keeps. At 1000 machines x 20 tags that was ~20 MB of
# duplicates (tracemalloc: address_space.py:408, uaprotocol_auto.py:7063, nodes.py:27). Now
# the reference type and type definition ids are one shared object per distinct id (asyncua
# never changes a NodeId in place: it replaces them), and the parent's reference holds the
# names the node's own attributes hold when they are equal. The forward HasTypeDefinition
# reference, equal in every instance of a type, is one object per type (asyncua replaces a
# renamed node's name in the references of its neighbours; a type's instances are not its
# neighbours, so a shared one is never renamed for one instance only). Browse answers are
# unchanged. Process-wide.
#
# Checked: the source digests of the replaced and wrapped functions and of the functions that
# build references or rename them (_add_reference_no_check, _sync_reference_names).

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

from asyncua import ua
from asyncua.server.address_space import AddressSpace, NodeData, NodeManagementService

from opcua_server.fastpath.patching import Patch, Target

_IDS: dict[Hashable, ua.NodeId] = {}
_ID_CLASSES = frozenset(
    (
        ua.NodeId,
        ua.TwoByteNodeId,
        ua.FourByteNodeId,
        ua.NumericNodeId,
        ua.StringNodeId,
        ua.GuidNodeId,
        ua.ByteStringNodeId,
        ua.ExpandedNodeId,
    )
)


def _id_key(node_id: ua.NodeId) -> Hashable:
    """A key equal only for NodeIds that are equal, of one class, and encode alike."""
    return (
        type(node_id),
        node_id.Identifier,
        node_id.NamespaceIndex,
        node_id.NodeIdType,
        getattr(node_id, "NamespaceUri", None),
        getattr(node_id, "ServerIndex", None),
    )


def one_id(node_id: ua.NodeId) -> ua.NodeId:
    """The one NodeId object kept for ids equal to ``node_id`` (``node_id`` the first time)."""
    if type(node_id) not in _ID_CLASSES:
        return node_id
    try:
        return _IDS.setdefault(_id_key(node_id), node_id)
    except TypeError:  # an identifier that cannot be hashed: kept as given
        return node_id


def _held_name(node: NodeData, attribute: ua.AttributeIds, given: Any) -> Any:
    """The value ``node`` holds for ``attribute`` when it equals ``given``; else ``given``."""
    held = node.attributes.get(attribute)
    value = None if held is None or held.value is None else held.value.Value
    if value is not None and type(value.Value) is type(given) and value.Value == given:
        return value.Value
    return given


def _add_ref_from_parent(
    self: NodeManagementService, nodedata: NodeData, item: ua.AddNodesItem, parentdata: NodeData
) -> None:
    """NodeManagementService._add_ref_from_parent (asyncua 2.1.0) holding the node's names."""
    desc = ua.ReferenceDescription()
    desc.ReferenceTypeId = item.ReferenceTypeId
    desc.NodeId = nodedata.nodeid
    desc.NodeClass = item.NodeClass
    desc.BrowseName = _held_name(nodedata, ua.AttributeIds.BrowseName, item.BrowseName)
    desc.DisplayName = _held_name(
        nodedata, ua.AttributeIds.DisplayName, item.NodeAttributes.DisplayName
    )
    desc.TypeDefinition = item.TypeDefinition
    desc.IsForward = True
    self._add_unique_reference(parentdata, desc)


_asyncua_add_unique_reference = NodeManagementService._add_unique_reference


@functools.wraps(_asyncua_add_unique_reference)
def _add_unique_reference(
    self: NodeManagementService, nodedata: NodeData, desc: ua.ReferenceDescription
) -> ua.StatusCode:
    """NodeManagementService._add_unique_reference (asyncua 2.1.0) with shared type ids."""
    desc.ReferenceTypeId = one_id(desc.ReferenceTypeId)
    desc.TypeDefinition = one_id(desc.TypeDefinition)
    added: ua.StatusCode = _asyncua_add_unique_reference(self, nodedata, one_reference(desc))
    return added


_HAS_TYPE_DEFINITION = ua.NodeId(ua.ObjectIds.HasTypeDefinition)
_TYPE_REFERENCES: dict[Hashable, ua.ReferenceDescription] = {}


def _name_key(name: Any) -> Hashable:
    if type(name) is ua.QualifiedName:
        return (name.NamespaceIndex, name.Name)
    if type(name) is ua.LocalizedText:
        return (name.Encoding, name.Locale, name.Text)
    return id(name)  # never equal to another's: not shared


def one_reference(desc: ua.ReferenceDescription) -> ua.ReferenceDescription:
    """The one HasTypeDefinition reference kept for references equal to ``desc`` (every
    instance of a type holds the same one); any other reference as given."""
    if not desc.IsForward or desc.ReferenceTypeId != _HAS_TYPE_DEFINITION:
        return desc
    key = (
        _id_key(desc.ReferenceTypeId),
        _id_key(desc.NodeId),
        desc.NodeClass,
        _name_key(desc.BrowseName),
        _name_key(desc.DisplayName),
        _id_key(desc.TypeDefinition),
    )
    try:
        return _TYPE_REFERENCES.setdefault(key, desc)
    except TypeError:  # an identifier that cannot be hashed: kept as given
        return desc


PATCH = Patch(
    "shared_reference_parts",
    (
        Target(
            NodeManagementService,
            "_add_ref_from_parent",
            "55f9c4e89ba59e1ff09e9886d638e5fa22c80bc9c6cc2aa7f0c3f23bc3a0ee18",
            _add_ref_from_parent,
        ),
        Target(
            NodeManagementService,
            "_add_unique_reference",
            "721c7005a1038ca949ecf770a1e1cc0ad0618a49abcc5ec2f00a9dcb38f244da",
            _add_unique_reference,
        ),
        Target(
            NodeManagementService,
            "_add_reference_no_check",
            "f880ddf4a8ad7928b8f38fdb5f56a2798c7a317356a1c5d7e6760f45c73b0f1b",
        ),
        Target(
            AddressSpace,
            "_sync_reference_names",
            "676539c808fa19dc65925d242f89cd7a53b3a1886f5684376605d746d75c1cc5",
        ),
    ),
)
