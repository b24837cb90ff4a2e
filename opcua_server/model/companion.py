"""Loads the shipped companion nodesets (DI, IA, Machinery, ISA-95, AMB)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources

from asyncua import Server, ua

from opcua_server.errors import ServerError
from opcua_server.model.namespaces import AMB, DI, IA, ISA95_JOB_CONTROL, MACHINERY

UA_NODESET_XMLNS = "http://opcfoundation.org/UA/2011/03/UANodeSet.xsd"


@dataclass(frozen=True, slots=True)
class Nodeset:
    """One shipped nodeset file and the model URI it defines."""

    file: str
    model_uri: str


NODESETS: tuple[Nodeset, ...] = (
    Nodeset("Opc.Ua.Di.NodeSet2.xml", DI),
    Nodeset("Opc.Ua.IA.NodeSet2.xml", IA),
    Nodeset("Opc.Ua.Machinery.NodeSet2.xml", MACHINERY),
    Nodeset("opc.ua.isa95-jobcontrol.nodeset2.xml", ISA95_JOB_CONTROL),
    Nodeset("Opc.Ua.AMB.NodeSet2.xml", AMB),
)
"""In import order: each model needs the ones before it (Machinery needs DI and IA)."""


class NodesetImportError(ServerError):
    """A shipped companion nodeset could not be read or imported."""


def nodeset_text(file: str) -> str:
    """The text of a nodeset shipped in ``opcua_server/model/nodesets``."""
    return resources.files("opcua_server.model").joinpath("nodesets", file).read_text("utf-8")


def without_design_tool_only(xml_text: str) -> str:
    """The nodeset without its ``DesignToolOnly="true"`` nodes (OPC 10000-6 §F.3).

    Such nodes exist for modelling tools only and have no parent in the nodeset (DI 1.05 has
    nine); a server that imports them fails with BadParentNodeIdInvalid. References other nodes
    hold to a dropped node are dropped with it.
    """
    ET.register_namespace("", UA_NODESET_XMLNS)
    root = ET.fromstring(xml_text)
    dropped = {
        node.get("NodeId", "")
        for node in list(root)
        if node.get("DesignToolOnly", "false").lower() == "true"
    }
    if not dropped:
        return xml_text
    for node in list(root):
        if node.get("NodeId") in dropped:
            root.remove(node)
    for references in root.iter(f"{{{UA_NODESET_XMLNS}}}References"):
        for reference in list(references):
            if (reference.text or "").strip() in dropped:
                references.remove(reference)
    return ET.tostring(root, encoding="unicode")


async def import_companion_nodesets(server: Server) -> None:
    """Import every shipped nodeset into ``server``, in order."""
    for nodeset in NODESETS:
        try:
            await server.import_xml(xmlstring=without_design_tool_only(nodeset_text(nodeset.file)))
        except (ua.UaError, ValueError, KeyError, ET.ParseError) as error:
            raise NodesetImportError(
                f"cannot import the {nodeset.model_uri} nodeset ({nodeset.file}): {error}",
                advice="reinstall trustfloor; the nodesets ship inside the package",
            ) from error
