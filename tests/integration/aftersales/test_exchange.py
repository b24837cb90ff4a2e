"""Trace and recall for partners: EPCIS 2.0 documents valid against GS1's JSON schema, the
Catena-X style quality alert, CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from jsonschema import Draft7Validator  # type: ignore[import-untyped]  # jsonschema ships no stubs

from models import ExitCode
from opcua_server.cli.main import main
from tests.integration.aftersales.kit import LOT_A, Floor, build_floor
from tests.support import REPO

SCHEMA = json.loads((REPO / "tests/data/epcis/EPCIS-JSON-Schema.json").read_text())
EPCIS = Draft7Validator(SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Floor:
    return asyncio.run(build_floor(tmp_path_factory.mktemp("exchange")))


@pytest.fixture(scope="module")
def campaign(floor: Floor) -> str:
    """A recall of lot A: one part returned, the other scrapped, then taken back and dismantled."""
    site = ("--config", str(floor.config()))
    create = ["recall", "create", "--lot", LOT_A, "--reason", "powder", "--disposition", "return"]
    assert main([*create, *site]) == ExitCode.OK
    for serial, closure in (("P-A1", "returned"), ("P-A2", "scrapped")):
        assert main(["recall", "close-part", "RC-0001", serial, "--as", closure, *site]) == 0
    assert main(["take-back", "P-A1", "--dismantled", *site]) == ExitCode.OK
    return "RC-0001"


def output(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == ExitCode.OK
    return capsys.readouterr().out


def problems(document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in EPCIS.iter_errors(document)]


def test_the_schema_refuses_a_document_without_context_or_creation_date() -> None:
    broken = {"type": "EPCISDocument", "schemaVersion": "2.0", "epcisBody": {"eventList": []}}
    assert len(problems(broken)) == 2


def test_a_trace_as_epcis_validates_with_a_build_and_a_certificate_per_part(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    text = output(
        capsys, "trace", "--lot", LOT_A, "--format", "epcis", "--data-dir", str(floor.data_dir)
    )
    document = json.loads(text)
    assert problems(document) == []
    events = document["epcisBody"]["eventList"]
    builds = [e for e in events if e["type"] == "TransformationEvent"]
    assert [b["outputEPCList"] for b in builds] == [
        ["urn:trustfloor:part:P-A1"],
        ["urn:trustfloor:part:P-A2"],
    ]
    assert builds[0]["inputQuantityList"] == [{"epcClass": f"urn:trustfloor:lot:{LOT_A}"}]
    certified = [e for e in events if e["type"] == "ObjectEvent"]
    assert {e["disposition"] for e in certified} == {"conformant"}


def test_a_recall_as_epcis_validates_with_its_recall_closures_and_end_of_life(
    floor: Floor, campaign: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = output(
        capsys, "recall", "show", campaign, "--format", "epcis", "--data-dir", str(floor.data_dir)
    )
    document = json.loads(text)
    assert problems(document) == []
    objects = [e for e in document["epcisBody"]["eventList"] if e["type"] == "ObjectEvent"]
    steps = [(e["bizStep"], e["disposition"]) for e in objects if e["bizStep"] != "inspecting"]
    assert steps == [
        ("holding", "recalled"),
        ("receiving", "returned"),
        ("destroying", "destroyed"),
        ("receiving", "returned"),
        ("disassembling", "inactive"),
    ]
    assert objects[2]["trustfloor:campaign"] == campaign


def test_a_recall_as_a_quality_alert_and_as_csv(
    floor: Floor, campaign: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = ("--data-dir", str(floor.data_dir))
    alert = json.loads(
        output(
            capsys,
            *("recall", "show", campaign, "--format", "cx"),
            *("--sender-bpn", "BPNL00000000SITE", "--recipient-bpn", "BPNL0000000OEM01", *site),
        )
    )
    assert alert["header"]["classification"] == "QM-Alert"
    assert alert["header"]["severity"] == "MAJOR"
    assert alert["header"]["status"] == "CLOSED"
    assert alert["header"]["senderBPN"] == "BPNL00000000SITE"
    assert len(alert["content"]["listOfAffectedItems"]) == 2
    assert all(item.startswith("urn:uuid:") for item in alert["content"]["listOfAffectedItems"])
    rows = list(
        csv.DictReader(
            io.StringIO(output(capsys, "recall", "show", campaign, "--format", "csv", *site))
        )
    )
    assert [(r["serial"], r["closure"]) for r in rows] == [
        ("P-A1", "returned"),
        ("P-A2", "scrapped"),
    ]
    traced = list(
        csv.DictReader(
            io.StringIO(output(capsys, "trace", "--printer", "am-2", "--format", "csv", *site))
        )
    )
    assert [(r["serial"], r["material_lot"]) for r in traced] == [
        ("P-B1", "Ti64-L2307"),
        ("P-B2", "Ti64-L2307"),
    ]


def test_the_schema_file_names_its_source() -> None:
    readme = (REPO / "tests/data/epcis/README.md").read_text()
    assert "github.com/gs1/EPCIS" in readme
