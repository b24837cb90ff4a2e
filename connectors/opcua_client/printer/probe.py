"""Probe an unknown printer: browse it, check a mapping, suggest one for what is missing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import Client, Node, ua

from config import PrinterMapping
from connectors.opcua_client.printer.errors import PrinterUnreachableError
from connectors.opcua_client.printer.paths import (
    PathFinder,
    parse_path,
    printer_root,
    resolve_mapping,
)
from connectors.opcua_client.session import LINK_ERRORS, describe, new_client, secure
from models import OpcUaEndpoint, ProcessParameter

MAX_NODES = 5_000
"""Most nodes a probe browses (a printer's own subtree is far smaller; the bound keeps a huge
server from holding the probe)."""

CANDIDATES: dict[str, tuple[str, ...]] = {
    "state": ("JobState", "BuildState", "State", "Status", "MachineState"),
    "job_id": ("JobOrderID", "JobId", "JobID", "JobName", "CurrentJob", "ActiveJob", "Job"),
    "current_layer": ("CurrentLayer", "Layer", "LayerCurrent", "LayerNumber"),
    "layers_planned": ("LayersPlanned", "TotalLayers", "LayerCount", "Layers", "NumberOfLayers"),
    "material_lot": ("LotIdentifier", "MaterialLot", "LotNumber", "Lot", "BatchId", "Batch"),
    "material": ("Material", "MaterialName", "Alloy", "Powder"),
    "dossier_sha256": ("DossierHash", "DossierSha256", "JobHash", "BuildFileHash", "Checksum"),
    "design_id": ("DesignId", "PartId", "PartNumber", "Design"),
    "alarms": ("ActiveAlarms", "Alarms", "Errors", "Faults"),
    "reason": ("StopReason", "AbortReason", "StopCause", "LastError", "Reason", "Message"),
    "store": ("Store", "LoadJob", "UploadJob", "Load", "Prepare", "Queue"),
    "start": ("Start", "StartJob", "StartBuild", "RunJob", "Run", "Begin"),
    "abort": ("Abort", "AbortJob", "Cancel", "CancelJob", "Stop", "StopBuild"),
    "store_and_start": ("StoreAndStart", "LoadAndStart", "LoadAndRun"),
    "clear": ("Clear", "ClearJob", "Remove", "Unload", "Reset"),
    **{
        p.value: (p.value, *aliases)
        for p, aliases in {
            ProcessParameter.LASER_POWER: ("Laser", "LaserPowerActual", "Power"),
            ProcessParameter.CHAMBER_OXYGEN: ("Oxygen", "O2", "OxygenLevel", "ChamberO2"),
            ProcessParameter.BUILD_PLATE_TEMPERATURE: (
                "PlateTemperature",
                "PlatformTemperature",
                "BedTemperature",
                "BuildPlateTemp",
            ),
            ProcessParameter.LAYER_TIME: ("LayerDuration", "LayerTimeSeconds", "TimePerLayer"),
        }.items()
    },
}
"""Names a printer may use for each mapping key, most likely first (case does not matter)."""

KEYWORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    ProcessParameter.LASER_POWER.value: (("laser",),),
    ProcessParameter.CHAMBER_OXYGEN.value: (("oxygen",), ("o2",)),
    ProcessParameter.BUILD_PLATE_TEMPERATURE.value: (
        ("plate", "temp"),
        ("platform", "temp"),
        ("bed", "temp"),
    ),
    ProcessParameter.LAYER_TIME.value: (("layer", "time"), ("layer", "sec"), ("layer", "dur")),
}
"""When no name matches exactly: words a name must all contain to suggest it for a key."""

_METHODS = ("store", "start", "abort", "store_and_start", "clear")


@dataclass(frozen=True, slots=True)
class BrowsedNode:
    """One node under the probed root: its path (``nsN:Name/...``) and node class."""

    path: str
    node_class: ua.NodeClass


@dataclass(slots=True)
class ProbeReport:
    """What a probe found: the mapping's nodes present and missing, and suggestions."""

    url: str
    root: str
    namespaces: list[str]
    found: dict[str, str] = field(default_factory=dict)
    """Mapping key → how the mapping names it, for nodes that are there."""
    missing: dict[str, str] = field(default_factory=dict)
    """Mapping key → what was not found."""
    suggested: dict[str, str] = field(default_factory=dict)
    """Missing key → a path under the root whose name looks like it (``nsN:Name/...``)."""
    hints: dict[str, str] = field(default_factory=dict)
    """Key → what the printer shows there: a method's inputs, the state's current value."""

    @property
    def complete(self) -> bool:
        return not self.missing


async def probe_printer(
    endpoint: OpcUaEndpoint,
    mapping: PrinterMapping,
    *,
    password: str | None = None,
    pki_dir: Path | None = None,
    printer_id: str = "",
) -> ProbeReport:
    """Connect to ``endpoint``, check every node of ``mapping`` and suggest paths for those
    missing by their names; PrinterUnreachableError when the printer cannot be reached."""
    client = new_client(endpoint, password)
    try:
        await secure(client, endpoint, pki_dir)
        await client.connect()
    except LINK_ERRORS as error:
        raise PrinterUnreachableError(
            f"cannot connect to {endpoint.url}: {describe(error)}",
            advice="check the URL, the security policy and mode, the user and its password",
        ) from error
    try:
        return await _probe(client, endpoint.url, mapping, printer_id)
    finally:
        with contextlib.suppress(*LINK_ERRORS):
            await asyncio.wait_for(client.disconnect(), endpoint.timeout_s)


async def _probe(client: Client, url: str, mapping: PrinterMapping, printer_id: str) -> ProbeReport:
    namespaces = list(await client.get_namespace_array())
    resolved = await resolve_mapping(client, mapping, printer_id)
    report = ProbeReport(url, mapping.root.replace("{printer}", printer_id), namespaces)
    refs = {**mapping.nodes(), **mapping.method_refs()}
    report.found = {key: refs[key].text for key in (*resolved.nodes, *resolved.methods)}
    report.missing = dict(resolved.missing)
    finder = PathFinder(client, namespaces)
    if "root" in resolved.missing:
        _suggest_from_objects(report, mapping, await browse_tree(finder, client.nodes.objects))
        suggested_root = report.suggested.get("root")
        if suggested_root:
            root_node, _ = await finder.follow(
                client.nodes.objects, parse_path(suggested_root, _index_aliases(report))
            )
            if root_node is not None:
                await _hints(report, finder, root_node)
        return report
    _, root, _ = await printer_root(client, mapping, printer_id)
    assert root is not None
    browsed = await browse_tree(finder, root)
    for key in report.missing:
        suggestion = suggest(key, browsed)
        if suggestion:
            report.suggested[key] = suggestion
    await _hints(report, finder, root)
    return report


async def _hints(report: ProbeReport, finder: PathFinder, root: Node) -> None:
    """What the suggested state node reads now and what each suggested method takes."""
    for key, path in report.suggested.items():
        if key == "root":
            continue
        node, _ = await finder.follow(root, parse_path(path, _index_aliases(report)))
        if node is None:
            continue
        with contextlib.suppress(*LINK_ERRORS):
            if key in _METHODS:
                inputs = await (await node.get_child("0:InputArguments")).read_value()
                report.hints[key] = "inputs " + ", ".join(
                    f"{a.Name}: {_type_name(a.DataType)}" for a in inputs
                )
            elif key == "state":
                report.hints[key] = f"reads {await node.read_value()!r} now"


def _index_aliases(report: ProbeReport) -> dict[str, str]:
    """``nsN`` → URI: the aliases of the paths a probe suggests."""
    return {f"ns{index}": uri for index, uri in enumerate(report.namespaces)}


def _type_name(data_type: ua.NodeId) -> str:
    if data_type.NamespaceIndex == 0 and isinstance(data_type.Identifier, int):
        with contextlib.suppress(ValueError):
            return str(ua.VariantType(data_type.Identifier).name)
    return str(data_type.to_string())


def _suggest_from_objects(
    report: ProbeReport, mapping: PrinterMapping, browsed: Sequence[BrowsedNode]
) -> None:
    """No root where the mapping says: suggest every key from Objects, and as the root the
    object all suggestions share (their paths then start below it)."""
    keys = [*mapping.nodes(), *mapping.method_refs()]
    found = {key: path for key in keys if (path := suggest(key, browsed))}
    common = _common_prefix([path.split("/")[:-1] for path in found.values()])
    if common:
        report.suggested["root"] = "/".join(common)
    for key, path in found.items():
        report.suggested[key] = "/".join(path.split("/")[len(common) :])


def _common_prefix(paths: Sequence[list[str]]) -> list[str]:
    if not paths:
        return []
    prefix = paths[0]
    for path in paths[1:]:
        size = 0
        while size < min(len(prefix), len(path)) and prefix[size] == path[size]:
            size += 1
        prefix = prefix[:size]
    return prefix


async def browse_tree(finder: PathFinder, root: Node) -> list[BrowsedNode]:
    """Every variable, object and method under ``root`` (breadth first, at most MAX_NODES)."""
    browsed: list[BrowsedNode] = []
    queue: list[tuple[Node, str]] = [(root, "")]
    seen = {root.nodeid}
    while queue and len(browsed) < MAX_NODES:
        node, path = queue.pop(0)
        for description in await finder.children(node):
            child_id = description.NodeId
            if child_id in seen or child_id.NamespaceIndex == 0:
                continue
            seen.add(child_id)
            name = description.BrowseName
            segment = f"ns{name.NamespaceIndex}:{name.Name}"
            child_path = f"{path}/{segment}" if path else segment
            browsed.append(BrowsedNode(child_path, description.NodeClass))
            if description.NodeClass == ua.NodeClass.Object:
                queue.append((finder.node(child_id), child_path))
    return browsed


def suggest(key: str, browsed: Sequence[BrowsedNode]) -> str:
    """The best path for ``key`` among ``browsed`` by its name ("" when nothing looks like it):
    methods for method keys, variables otherwise; earlier candidates and shorter paths first."""
    wanted = ua.NodeClass.Method if key in _METHODS else ua.NodeClass.Variable
    for candidate in CANDIDATES.get(key, ()):
        matches = [
            node
            for node in browsed
            if node.node_class == wanted and _name(node).lower() == candidate.lower()
        ]
        if matches:
            return min(matches, key=lambda node: node.path.count("/")).path
    for words in KEYWORDS.get(key, ()):
        matches = [
            node
            for node in browsed
            if node.node_class == wanted and all(w in _name(node).lower() for w in words)
        ]
        if matches:
            return min(matches, key=lambda node: node.path.count("/")).path
    return ""


def _name(node: BrowsedNode) -> str:
    return node.path.rpartition("/")[2].partition(":")[2]


def render_toml(report: ProbeReport, mapping: PrinterMapping, profile: str = "probed") -> str:
    """The probe's findings as a mapping profile to review: what was found as the mapping
    names it, suggestions for what was not, comments for what nothing looks like."""
    lines = [f"# trustfloor printers probe {report.url}"]
    if report.complete:
        lines.append("# every mapped node and method was found: the profile fits this printer")
    lines += [f"# not found: {key}: {why}" for key, why in sorted(report.missing.items())]
    table = f"printer_links.profiles.{profile}"
    paths = {**report.found, **report.suggested}
    nodes = [k for k in mapping.nodes() if k in paths or k in report.missing]
    root = report.suggested.get("root", mapping.root)
    lines += ["", f"[{table}]", f"root = {json.dumps(root)}"]
    for key in nodes:
        if key in paths and key not in {p.parameter.value for p in mapping.process_values}:
            lines.append(f"{key} = {{ path = {json.dumps(paths[key])} }}")
        elif key not in paths:
            lines.append(f"# {key} = {{ path = ... }}  (nothing under the root looks like it)")
    if "state" in report.hints:
        lines.append(f"# the state node {report.hints['state']}: list the printer's own values")
    states = ", ".join(
        f"{json.dumps(k)} = {json.dumps(v.value)}" for k, v in mapping.states.items()
    )
    lines.append(f"states = {{ {states} }}  # the printer's own state values → job states")
    lines += ["# scale: factor from the printer's unit to W, ppm, Cel and s (see EngineeringUnits)"]
    lines += ["process_values = ["]
    for value in mapping.process_values:
        name = value.parameter.value
        path = paths.get(name)
        entry = f'{{ parameter = "{name}", path = {json.dumps(path)} }},'
        lines.append(f"  {entry}" if path else f"  # {name}: nothing looks like it")
    lines += ["]", "", f"[{table}.namespaces]"]
    aliases = dict(mapping.namespaces)
    for path in report.suggested.values():  # nsN aliases of the suggested paths
        for segment in path.split("/"):
            alias = segment.partition(":")[0]
            aliases.setdefault(alias, report.namespaces[int(alias[2:])])
    lines += [f"{alias} = {json.dumps(uri)}" for alias, uri in aliases.items()]
    lines += ["", f"[{table}.methods]"]
    for key, method in mapping.method_refs().items():
        path = paths.get(key)
        arguments = ", ".join(
            f'{{ source = "{a.source.value}", type = "{a.type.value}" }}' for a in method.arguments
        )
        if key in report.hints:
            lines.append(f"# {key}: the printer's method takes {report.hints[key]}")
        if path:
            lines.append(f"{key} = {{ path = {json.dumps(path)}, arguments = [{arguments}] }}")
        else:
            lines.append(f"# {key} = {{ path = ... }}  (no method looks like it)")
    return "\n".join(lines) + "\n"
