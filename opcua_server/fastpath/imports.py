"""Patch nodeset_reverse_references: the nodeset import reads references without browsing."""

# Replaces XmlImporter._add_missing_reverse_references (asyncua 2.1.0).
#
# Why: after importing a nodeset, asyncua adds the reverse of every reference the new nodes
# hold that has none. It collects each new node's references with `Node.get_references()`, a
# Browse for References with subtypes, and the address space answers each reference of each node
# by walking the whole reference-type tree again (ViewService._suitable_reftype, _get_sub_ref):
# the DI, IA, Machinery and ISA-95 nodesets (~1000 nodes, ~7000 references) spent 55% of their
# import there. Here the subtypes of References are collected once per import and each node's
# references are filtered against that set, straight from the address space. The same
# references, in the same order, the same reverse references added, the same warnings; with a
# client (no address space in reach) asyncua's own code runs.
#
# Checked: the source digests of the replaced method, of Node.get_references and ViewService's
# _browse, _is_suitable_ref and _suitable_reftype (whose answer this reproduces), and of
# XmlImporter._add_references, which it calls.

from __future__ import annotations

import logging
from typing import Any

from asyncua import Server, ua
from asyncua.common.node import Node
from asyncua.common.xmlimporter import XmlImporter
from asyncua.server.address_space import AddressSpace, ViewService

from opcua_server.fastpath.patching import Patch, Target

log = logging.getLogger(__name__)

_original = XmlImporter._add_missing_reverse_references

UNIDIRECTIONAL = frozenset(
    {
        ua.ObjectIds.GuardVariableType,
        ua.ObjectIds.HasGuard,
        ua.ObjectIds.TransitionVariableType,
        ua.ObjectIds.StateMachineType,
        ua.ObjectIds.StateVariableType,
        ua.ObjectIds.TwoStateVariableType,
        ua.ObjectIds.StateType,
        ua.ObjectIds.TransitionType,
        ua.ObjectIds.FiniteTransitionVariableType,
        ua.ObjectIds.HasInterface,
    }
)
"""Reference types (namespace 0) whose reverse asyncua does not add."""

RefKey = tuple[ua.NodeId, ua.NodeId, ua.NodeId]
"""(source, target, reference type) of one reference."""


def reference_types(aspace: AddressSpace) -> set[ua.NodeId]:
    """References and every subtype of it in ``aspace`` (HasSubtype, forward, transitively)."""
    has_subtype = ua.NodeId(ua.ObjectIds.HasSubtype)
    found: set[ua.NodeId] = set()
    pending = [ua.NodeId(ua.ObjectIds.References)]
    while pending:
        kind = pending.pop()
        if kind in found:
            continue
        found.add(kind)
        data = aspace.get(kind)
        if data is not None:
            pending.extend(
                ref.NodeId
                for ref in data.references
                if ref.ReferenceTypeId == has_subtype and ref.IsForward
            )
    return found


def references_of(
    aspace: AddressSpace, node_id: ua.NodeId, kinds: set[ua.NodeId]
) -> list[ua.ReferenceDescription]:
    """What ``Node(node_id).get_references()`` answers: the node's references of those kinds."""
    data = aspace.get(node_id)
    if data is None:
        return []
    return [ref for ref in data.references if ref.ReferenceTypeId in kinds]


async def _add_missing_reverse_references(self: XmlImporter, new_nodes: list[Any]) -> set[Any]:
    """XmlImporter._add_missing_reverse_references (asyncua 2.1.0), references read directly."""
    if not isinstance(self.session, Server):
        unchanged: set[Any] = await _original(self, new_nodes)
        return unchanged
    aspace = self.session.iserver.aspace
    kinds = reference_types(aspace)
    dangling = set(new_nodes)
    known: dict[RefKey, ua.ReferenceDescription] = {}
    for node_id in new_nodes:
        for ref in references_of(aspace, node_id, kinds):
            dangling.discard(node_id)
            dangling.discard(ref.NodeId)
            kind = ref.ReferenceTypeId
            if kind.NamespaceIndex != 0 or kind.Identifier not in UNIDIRECTIONAL:
                known[(node_id, ref.NodeId, kind)] = ref
    for node in dangling:
        log.warning("Node %s has no references, so it does not exist in Server!", node)
    fixes = [
        ua.AddReferencesItem(
            SourceNodeId=target,
            TargetNodeId=source,
            ReferenceTypeId=kind,
            IsForward=not ref.IsForward,
        )
        for (source, target, kind), ref in known.items()
        if (target, source, kind) not in known
    ]
    await self._add_references(fixes)
    return dangling


PATCH = Patch(
    "nodeset_reverse_references",
    (
        Target(
            XmlImporter,
            "_add_missing_reverse_references",
            "1fb16cdbd162c38d6379476865690f5e5772910da446a4602b33a0ce858a0e5d",
            _add_missing_reverse_references,
        ),
        Target(
            Node,
            "get_references",
            "4bd3aea8911bf7634dcab5f49086d270e0c64c975b398447e41e4ac68153d727",
        ),
        Target(
            ViewService,
            "_browse",
            "84cdc59f119219659f8ac74ea4d207c9da9434e8008bf0e7d9a01b8f0b766d1a",
        ),
        Target(
            ViewService,
            "_is_suitable_ref",
            "61bb02130ea3c4181389da59ffa211d26407e601e580d5443c19151beaf55a7c",
        ),
        Target(
            ViewService,
            "_suitable_reftype",
            "6b937b4b9405f27a4b2937a084ca86e34defe9b393a355de2d616db8aee31e01",
        ),
        Target(
            XmlImporter,
            "_add_references",
            "3d3df44328454626dae92a701bd03a32f2dc9851eb6ead5a889820a0dd6ab1f9",
        ),
    ),
)
