"""The shipped companion nodesets: DesignToolOnly nodes are dropped before asyncua sees them."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from opcua_server.model.companion import (
    NODESETS,
    UA_NODESET_XMLNS,
    nodeset_text,
    without_design_tool_only,
)

_SMALL = f"""<?xml version="1.0" encoding="utf-8"?>
<UANodeSet xmlns="{UA_NODESET_XMLNS}">
  <UAObject NodeId="ns=1;i=1" BrowseName="1:Kept" ParentNodeId="i=85">
    <References>
      <Reference ReferenceType="Organizes" IsForward="false">i=85</Reference>
      <Reference ReferenceType="HasComponent">ns=1;i=2</Reference>
    </References>
  </UAObject>
  <UAObject NodeId="ns=1;i=2" BrowseName="1:ToolOnly" DesignToolOnly="true">
    <References><Reference ReferenceType="HasTypeDefinition">i=58</Reference></References>
  </UAObject>
</UANodeSet>
"""


def _node_ids(xml_text: str) -> set[str]:
    return {node.get("NodeId", "") for node in ET.fromstring(xml_text) if node.get("NodeId")}


def _reference_targets(xml_text: str) -> set[str]:
    tag = f"{{{UA_NODESET_XMLNS}}}Reference"
    return {(ref.text or "").strip() for ref in ET.fromstring(xml_text).iter(tag)}


def test_design_tool_only_nodes_and_references_to_them_are_dropped() -> None:
    filtered = without_design_tool_only(_SMALL)
    assert _node_ids(filtered) == {"ns=1;i=1"}
    assert _reference_targets(filtered) == {"i=85"}


def test_a_nodeset_without_such_nodes_is_handed_on_unchanged() -> None:
    text = nodeset_text("Opc.Ua.Machinery.NodeSet2.xml")
    assert without_design_tool_only(text) is text


def test_the_shipped_di_nodeset_loses_its_nine_design_tool_only_nodes() -> None:
    text = nodeset_text("Opc.Ua.Di.NodeSet2.xml")
    assert len(_node_ids(text)) - len(_node_ids(without_design_tool_only(text))) == 9
    assert "DesignToolOnly" not in without_design_tool_only(text)


def test_every_shipped_nodeset_defines_the_model_it_is_listed_for() -> None:
    model_tag = f"{{{UA_NODESET_XMLNS}}}Model"
    for nodeset in NODESETS:
        models = ET.fromstring(nodeset_text(nodeset.file)).iter(model_tag)
        assert nodeset.model_uri in {m.get("ModelUri") for m in models}
