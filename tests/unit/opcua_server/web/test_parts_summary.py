"""A part's summary from its certificate: schema 1 and schema 2 documents, missing fields."""

from __future__ import annotations

import json

from opcua_server.web.parts import part_summary

SCHEMA_1 = {
    "serial": "PO-1-01",
    "design": {"id": "bracket", "revision": "B"},
    "printer": "am-1",
    "order_id": "PO-1",
    "job_id": "J-1",
    "material_lot": "LOT-1",
    "evidence": {
        "parameters": [
            {
                "parameter": "LaserPower",
                "samples": 20,
                "min": 270.0,
                "max": 290.0,
                "mean": 280.0,
                "out_of_window_s": 0.0,
                "excursion_count": 0,
            }
        ]
    },
    "verdict": "pass",
    "issuer": "0xabc",
    "issued_at": "2026-12-07T10:00:00+00:00",
}
SCHEMA_2 = {
    "schema": 2,
    "serial": "PO-2-01",
    "design": {"id": "bracket", "revision": "C", "oem": "Acme"},
    "order": "PO-2",
    "job": "J-2",
    "material_lot": {"id": "P316L-7"},
    "health_at_build": {"start": {"state": "Idle", "alarms": []}},
    "evidence": {
        "parameters": {
            "ChamberOxygen": {
                "min": 300,
                "max": 1200,
                "mean": 500,
                "out_of_window_s": 3.5,
                "excursions": [{"start": "a", "end": "b", "worst": 1200}],
            }
        }
    },
    "verdict": "fail",
}
BUNDLE = {
    "certificate": {
        "anchor": {"chain_id": 31337, "tx_hash": "0x01", "block_number": 7, "root": "aa"}
    },
    "revocation": "revoked",
}


def test_a_schema_1_certificate() -> None:
    part = part_summary("PO-1-01", json.dumps(SCHEMA_1), None)
    assert (part.design_id, part.revision, part.order_id, part.material_lot) == (
        "bracket",
        "B",
        "PO-1",
        "LOT-1",
    )
    [laser] = part.parameters
    assert (laser.name, laser.samples, laser.low, laser.high) == ("LaserPower", 20, 270.0, 290.0)
    assert part.status == "valid"
    assert part.proof == "awaiting anchor"


def test_a_schema_2_certificate_with_its_anchor_and_revocation() -> None:
    part = part_summary("PO-2-01", json.dumps(SCHEMA_2), json.dumps(BUNDLE))
    assert (part.order_id, part.material_lot, part.oem) == ("PO-2", "P316L-7", "Acme")
    [oxygen] = part.parameters
    assert (oxygen.name, oxygen.excursions, oxygen.out_of_window_s) == ("ChamberOxygen", 1, 3.5)
    assert part.health_at_build == {"start": {"state": "Idle", "alarms": []}}
    assert part.status == "revoked"
    assert part.anchor is not None
    assert part.anchor.block_number == 7
    assert part.proof == "anchored"


def test_fields_a_certificate_lacks_stay_empty() -> None:
    part = part_summary("X-1", json.dumps({"serial": "X-1"}), "{}")
    assert (part.design_id, part.printer, part.verdict, part.parameters) == ("", "", "", ())
    assert part.anchor is None
