"""A printer mapping's browse paths and node ids, found on a connected printer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from asyncua import Client, Node, ua

from config import NodeRef, PrinterMapping, PrinterMethod
from connectors.opcua_client.printer.errors import MappedNodeMissingError, PrinterLinkError

HIERARCHICAL = ua.ObjectIds.HierarchicalReferences


@dataclass(frozen=True, slots=True)
class Segment:
    """One BrowseName of a path: a name, in one namespace (its URI) or in any (None)."""

    uri: str | None
    name: str

    def matches(self, name: ua.QualifiedName, namespaces: Sequence[str]) -> bool:
        if name.Name != self.name:
            return False
        if self.uri is None:
            return True
        index = int(name.NamespaceIndex)
        return index < len(namespaces) and namespaces[index] == self.uri


def parse_path(path: str, aliases: Mapping[str, str], printer_id: str = "") -> tuple[Segment, ...]:
    """``alias:Name/Name/...`` as segments; ``{printer}`` stands for the printer's id."""
    segments = []
    for text in path.replace("{printer}", printer_id).split("/"):
        alias, colon, name = text.partition(":")
        if colon and alias not in aliases:
            raise PrinterLinkError(
                f"{path}: namespace alias {alias!r} is not in the mapping's namespaces",
                advice=f"use one of {sorted(aliases)}, or the bare name (any namespace)",
            )
        segments.append(Segment(aliases[alias], name) if colon else Segment(None, text))
    return tuple(segments)


@dataclass(slots=True)
class Resolved:
    """Where a printer's mapped nodes and methods are on this server, and what is missing."""

    nodes: dict[str, ua.NodeId] = field(default_factory=dict)
    methods: dict[str, tuple[ua.NodeId, ua.NodeId]] = field(default_factory=dict)
    """Method key → (object to call on, method)."""
    missing: dict[str, str] = field(default_factory=dict)
    """Mapping key → what could not be found."""


class PathFinder:
    """Follows browse paths down the hierarchy of a connected server (OPC 10000-4 §5.9.2)."""

    def __init__(self, client: Client, namespaces: Sequence[str]) -> None:
        self._client = client
        self._namespaces = list(namespaces)

    async def follow(self, start: Node, segments: Sequence[Segment]) -> tuple[Node | None, str]:
        """The node at the end of ``segments``, or None and the first segment not found."""
        node = start
        for depth, segment in enumerate(segments):
            child = await self._child(node, segment)
            if child is None:
                walked = "/".join(s.name for s in segments[: depth + 1])
                return None, f"no {walked!r}"
            node = child
        return node, ""

    async def node_id(self, text: str) -> tuple[ua.NodeId | None, str]:
        """A configured node id on this server (``nsu=`` turned into its index), if it exists."""
        try:
            node_id = ua.NodeId.from_string(text)
        except (ValueError, ua.UaError):
            return None, f"malformed node id {text!r}"
        uri = getattr(node_id, "NamespaceUri", None)
        if uri:
            if uri not in self._namespaces:
                return None, f"namespace {uri} is not on the printer"
            node_id = ua.NodeId(node_id.Identifier, self._namespaces.index(uri), node_id.NodeIdType)
        try:
            await self._client.get_node(node_id).read_browse_name()
        except ua.UaStatusCodeError:
            return None, f"no node {text}"
        return node_id, ""

    def node(self, node_id: ua.NodeId | ua.ExpandedNodeId) -> Node:
        return self._client.get_node(node_id)

    async def children(self, node: Node) -> list[ua.ReferenceDescription]:
        return list(await node.get_children_descriptions(refs=HIERARCHICAL, includesubtypes=True))

    async def _child(self, node: Node, segment: Segment) -> Node | None:
        for description in await self.children(node):
            if segment.matches(description.BrowseName, self._namespaces):
                return self._client.get_node(description.NodeId)
        return None


async def printer_root(
    client: Client, mapping: PrinterMapping, printer_id: str
) -> tuple[PathFinder, Node | None, str]:
    """A path finder on ``client`` and the printer's root node (None and why when missing)."""
    finder = PathFinder(client, await client.get_namespace_array())
    root_path = parse_path(mapping.root, mapping.namespaces, printer_id)
    root, why = await finder.follow(client.nodes.objects, root_path)
    return finder, root, why


async def resolve_method(
    client: Client, mapping: PrinterMapping, printer_id: str, method: PrinterMethod
) -> tuple[ua.NodeId, ua.NodeId] | str:
    """(object, method) of one method under the printer, or what is missing."""
    finder, root, why = await printer_root(client, mapping, printer_id)
    if root is None:
        return f"{why} from Objects (root {mapping.root})"
    return await _find_method(finder, root, method, mapping)


async def resolve_mapping(client: Client, mapping: PrinterMapping, printer_id: str) -> Resolved:
    """Find every node and method of ``mapping`` on the printer ``client`` is connected to."""
    resolved = Resolved()
    finder, root, why = await printer_root(client, mapping, printer_id)
    if root is None:
        resolved.missing["root"] = f"{why} from Objects (root {mapping.root})"
        return resolved
    for key, ref in mapping.nodes().items():
        node_id, why = await _find(finder, root, ref, mapping)
        if node_id is None:
            resolved.missing[key] = why
        else:
            resolved.nodes[key] = node_id
    for key, method in mapping.method_refs().items():
        found = await _find_method(finder, root, method, mapping)
        if isinstance(found, str):
            resolved.missing[key] = found
        else:
            resolved.methods[key] = found
    return resolved


async def _find(
    finder: PathFinder, root: Node, ref: NodeRef, mapping: PrinterMapping
) -> tuple[ua.NodeId | None, str]:
    if ref.node_id is not None:
        return await finder.node_id(ref.node_id)
    assert ref.path is not None
    node, why = await finder.follow(root, parse_path(ref.path, mapping.namespaces))
    return (node.nodeid, "") if node is not None else (None, f"{why} under the printer")


async def _find_method(
    finder: PathFinder, root: Node, method: PrinterMethod, mapping: PrinterMapping
) -> tuple[ua.NodeId, ua.NodeId] | str:
    if method.node_id is not None:
        assert method.object_node_id is not None
        found, why = await finder.node_id(method.node_id)
        owner, owner_why = await finder.node_id(method.object_node_id)
        if found is None or owner is None:
            return why or owner_why
        return owner, found
    assert method.path is not None
    segments = parse_path(method.path, mapping.namespaces)
    owner_node, why = await finder.follow(root, segments[:-1])
    if owner_node is None:
        return f"{why} under the printer"
    found_node, why = await finder.follow(owner_node, segments[-1:])
    if found_node is None:
        return f"no method {segments[-1].name!r} under {method.path.rpartition('/')[0]}"
    return owner_node.nodeid, found_node.nodeid


def required_missing(resolved: Resolved, mapping: PrinterMapping, printer_id: str) -> None:
    """Raise MappedNodeMissingError when a node or method the driver cannot do without is
    missing (optional ones — dossier, design, material, alarms, reason, StoreAndStart, Clear,
    process values — are left out)."""
    required = {"root", "state", "job_id", "current_layer", "layers_planned", "material_lot"}
    required |= {"store", "start", "abort"}
    missing = {key: why for key, why in resolved.missing.items() if key in required}
    if missing:
        listed = "; ".join(f"{key}: {why}" for key, why in sorted(missing.items()))
        raise MappedNodeMissingError(
            f"printer {printer_id}: mapped nodes are missing on the printer ({listed})",
            missing=missing,
            advice="fix the mapping's paths (`trustfloor printers probe URL` suggests them)",
        )
