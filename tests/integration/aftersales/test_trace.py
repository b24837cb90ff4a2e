"""``trustfloor trace`` on a site with parts from two lots on two printers: the six queries."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from opcua_server.cli.main import main
from tests.integration.aftersales.kit import LOT_A, Floor, build_floor
from tests.unit.ledger.ledgerkit import T0


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Floor:
    return asyncio.run(build_floor(tmp_path_factory.mktemp("trace")))


def trace(floor: Floor, capsys: pytest.CaptureFixture[str], *criteria: str) -> dict[str, Any]:
    assert main(["trace", *criteria, "--json", "--data-dir", str(floor.data_dir)]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def serials(result: dict[str, Any]) -> list[str]:
    return [part["serial"] for part in result["parts"]]


def test_a_lot_finds_its_parts_where_they_go_and_the_orders_still_open(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    result = trace(floor, capsys, "--lot", LOT_A)
    assert serials(result) == ["P-A1", "P-A2"]
    first = result["parts"][0]
    assert first["certificate"] == "anchored"
    assert first["order_state"] == "created"
    assert first["fitted"]["machine"] == "mill-1"
    assert first["fitted"]["component"] == "spindle-bearing"
    assert [o["id"] for o in result["open_orders"]] == [floor.open_order.id]


def test_a_printer_in_a_window_finds_what_it_built_then(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    start = T0.replace(hour=11).isoformat()
    result = trace(
        floor, capsys, "--printer", "am-2", "--from", start, "--until", "2026-11-03T11:30Z"
    )
    assert serials(result) == ["P-B1"]
    assert result["parts"][0]["fitted"] is None
    assert result["parts"][0]["order_state"] is None


def test_a_design_revision_a_dossier_and_an_order(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    by_design = trace(floor, capsys, "--design", "pump-impeller", "--revision", "C")
    assert serials(by_design) == ["P-A1", "P-A2", "P-B1", "P-B2"]
    dossier = by_design["parts"][0]["design"]["dossier_sha256"]
    assert serials(trace(floor, capsys, "--dossier", dossier)) == serials(by_design)
    assert serials(trace(floor, capsys, "--design", "pump-impeller", "--revision", "D")) == []
    assert serials(trace(floor, capsys, "--order", "PO-ERP-77")) == ["P-B1", "P-B2"]


def test_a_serial_upstream_names_lot_printer_dossier_evidence_and_health(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    [part] = trace(floor, capsys, "--serial", "P-B2", "--upstream")["parts"]
    upstream = part["upstream"]
    assert upstream["material_lot"] == "Ti64-L2307"
    assert upstream["printer"] == "am-2"
    assert upstream["dossier_sha256"] == part["design"]["dossier_sha256"]
    assert len(upstream["evidence"]["samples_sha256"]) == 64
    assert upstream["evidence"]["verdict"] == "pass"
    assert "health_at_build" in upstream


def test_a_trace_without_criteria_is_refused_with_advice(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "--until", "2026-11-04T00:00Z", "--data-dir", str(floor.data_dir)]) == 1
    assert "no criterion" in capsys.readouterr().err


def test_the_text_form_names_each_part_and_the_open_orders(
    floor: Floor, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["trace", "--lot", LOT_A, "--data-dir", str(floor.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "2 part(s)" in out
    assert "for mill-1/spindle-bearing" in out
    assert floor.open_order.id in out
