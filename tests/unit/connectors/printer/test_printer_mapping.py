"""Printer mappings: what the config accepts, browse paths, results that mean accepted, probes."""

from __future__ import annotations

import tomllib

import pytest
from asyncua import ua
from pydantic import ValidationError

from config import (
    COMPANION_NAMESPACES,
    NodeRef,
    PrinterLinkSettings,
    PrinterMethod,
    companion_mapping,
)
from connectors.opcua_client.printer.driver import refusal_of
from connectors.opcua_client.printer.errors import PrinterLinkError
from connectors.opcua_client.printer.paths import Segment, parse_path
from connectors.opcua_client.printer.probe import BrowsedNode, ProbeReport, render_toml, suggest
from models import PrinterJobState
from tests.support import REPO


def test_the_companion_profile_is_the_default_and_a_named_profile_must_exist() -> None:
    links = PrinterLinkSettings()
    assert links.mapping_of("am-1") == companion_mapping()
    with pytest.raises(ValidationError, match="not defined"):
        PrinterLinkSettings.model_validate({"use": {"am-1": "acme"}})


def test_a_path_alias_must_be_declared_and_a_node_named_one_way() -> None:
    raw = companion_mapping().model_dump(mode="json")
    raw["state"] = {"path": "vendor:Status/vendor:State"}
    with pytest.raises(ValidationError, match=r"aliases not in namespaces: \['vendor', 'vendor'\]"):
        type(companion_mapping()).model_validate(raw)
    with pytest.raises(ValidationError, match="exactly one of path or node_id"):
        NodeRef(path="a:B", node_id="ns=2;s=B")
    with pytest.raises(ValidationError, match="needs object_node_id"):
        PrinterMethod(node_id="ns=2;s=Start")


def test_the_example_vendor_mapping_validates_with_its_own_state_values() -> None:
    raw = tomllib.loads((REPO / "config" / "examples" / "printer-vendor.toml").read_text())
    links = PrinterLinkSettings.model_validate(raw["printer_links"])
    mapping = links.mapping_of("acme-1")
    assert mapping.states["BUILDING"] is PrinterJobState.PRINTING
    assert mapping.methods.clear is None, "optional methods may be left out"
    assert [p.scale for p in mapping.process_values][:2] == [1000.0, 10000.0]


def test_paths_parse_into_namespaced_and_any_namespace_segments() -> None:
    segments = parse_path("machinery:Machines/{printer}/Status", COMPANION_NAMESPACES, "am-1")
    assert segments == (
        Segment(COMPANION_NAMESPACES["machinery"], "Machines"),
        Segment(None, "am-1"),
        Segment(None, "Status"),
    )
    name = ua.QualifiedName("Machines", 3)
    namespaces = ["", "", "", COMPANION_NAMESPACES["machinery"]]
    assert segments[0].matches(name, namespaces)
    assert not segments[0].matches(ua.QualifiedName("Machines", 2), namespaces)
    with pytest.raises(PrinterLinkError, match="alias 'acme' is not in"):
        parse_path("acme:Status", COMPANION_NAMESPACES)


def test_a_result_means_accepted_as_the_mapping_says() -> None:
    isa95 = PrinterMethod(path="a:Start")
    assert refusal_of(isa95, [0, ""]) is None
    assert refusal_of(isa95, [1, "printing job PO-1"]) == "printing job PO-1"
    vendor = PrinterMethod(path="a:Run", accepted=("ACCEPTED",), message_index=0)
    assert refusal_of(vendor, ["ACCEPTED"]) is None
    assert refusal_of(vendor, ["REJECTED: door open"]) == "REJECTED: door open"
    by_status = PrinterMethod(path="a:Run", result_index=None)
    assert refusal_of(by_status, []) is None
    assert "outputs" in (refusal_of(isa95, []) or "")


BROWSED = [
    BrowsedNode("ns2:Status", ua.NodeClass.Object),
    BrowsedNode("ns2:Status/ns2:BuildState", ua.NodeClass.Variable),
    BrowsedNode("ns2:Sensors/ns2:LaserKW", ua.NodeClass.Variable),
    BrowsedNode("ns2:Sensors/ns2:PlatformTemp", ua.NodeClass.Variable),
    BrowsedNode("ns2:Control/ns2:RunJob", ua.NodeClass.Method),
    BrowsedNode("ns2:Control/ns2:Start", ua.NodeClass.Variable),
]


def test_suggestions_go_by_name_then_by_words_and_by_node_class() -> None:
    assert suggest("state", BROWSED) == "ns2:Status/ns2:BuildState"
    assert suggest("LaserPower", BROWSED) == "ns2:Sensors/ns2:LaserKW"
    assert suggest("BuildPlateTemperature", BROWSED) == "ns2:Sensors/ns2:PlatformTemp"
    assert suggest("start", BROWSED) == "ns2:Control/ns2:RunJob", "a method, not the variable"
    assert suggest("material_lot", BROWSED) == ""


def test_the_probe_report_renders_a_profile_with_what_is_missing() -> None:
    report = ProbeReport(
        url="opc.tcp://127.0.0.1:4840/acme",
        root="machinery:Machines/am-1",
        namespaces=["http://opcfoundation.org/UA/", "urn:x", "urn:acme"],
        missing={"state": "no 'RunInfo/JobState' under the printer"},
        suggested={"state": "ns2:Status/ns2:BuildState"},
        hints={"state": "reads 'READY' now"},
    )
    text = render_toml(report, companion_mapping(), profile="acme")
    assert "# not found: state: no 'RunInfo/JobState' under the printer" in text
    assert 'state = { path = "ns2:Status/ns2:BuildState" }' in text
    assert "# the state node reads 'READY' now" in text
    assert 'ns2 = "urn:acme"' in text
    assert "[printer_links.profiles.acme.methods]" in text
