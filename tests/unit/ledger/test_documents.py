"""Signed documents: the certificate layout is pinned, and every schema names its kind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.canonical import canonical_digest, canonical_json
from ledger.documents import (
    LEAF_TAG,
    certificate_document,
    inspection_document,
    iso,
    kind_of,
    revocation_document,
)
from ledger.errors import CanonicalEncodingError
from models.parts import (
    EvidenceGap,
    InspectionResult,
    MaterialLotSource,
    PrinterHealth,
    RecordKind,
    Verdict,
)
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, T0, certificate, design_ref


def test_a_certificate_document_holds_every_fact_and_is_pinned(tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    cert = certificate("P-2026-000417", ref, DEV_ADDRESS_0).model_copy(
        update={
            "material_lot_source": MaterialLotSource.PRINTER,
            "health_at_start": PrinterHealth(at=T0, state="Printing", hours_since_maintenance=12.5),
            "health_at_end": PrinterHealth(
                at=T0 + timedelta(seconds=30),
                state="Completed",
                alarms=("filter clogged",),
                anomaly_score=0.25,
                model_version="printer-if-1",
            ),
            "gaps": (EvidenceGap(start=T0, end=T0 + timedelta(seconds=4), cause="link lost"),),
        }
    )
    document = certificate_document(cert)
    assert sorted(document) == [
        "design",
        "evidence",
        "evidence_gaps",
        "health",
        "health_at_build",
        "inspections",
        "issued_at",
        "issuer",
        "job",
        "material_lot",
        "material_lot_source",
        "order",
        "printer",
        "schema",
        "serial",
        "verdict",
        "verify_url",
    ]
    evidence = document["evidence"]
    assert isinstance(evidence, dict)
    assert sorted(evidence) == [
        "ended_at",
        "layers",
        "parameters",
        "samples",
        "samples_sha256",
        "started_at",
        "verdict",
    ]
    assert document["schema"] == "trustfloor.certificate/2"
    assert (document["material_lot"], document["material_lot_source"]) == ("Ti64-L2291", "printer")
    assert document["health_at_build"] == {
        "start": {
            "at": "2026-11-03T09:00:00Z",
            "state": "Printing",
            "alarms": [],
            "hours_since_maintenance": 12.5,
        },
        "end": {
            "at": "2026-11-03T09:00:30Z",
            "state": "Completed",
            "alarms": ["filter clogged"],
            "anomaly_score": 0.25,
            "model_version": "printer-if-1",
        },
    }
    assert document["evidence_gaps"] == [
        {"start": "2026-11-03T09:00:00Z", "end": "2026-11-03T09:00:04Z", "cause": "link lost"}
    ]
    assert document["verify_url"] == ""
    assert document["issued_at"] == "2026-11-03T09:00:30Z"
    # FROZEN for schema trustfloor.certificate/2: a new layout is a new schema version.
    assert canonical_digest(document).hex() == (
        "7d85ac8699437154138e4012918a78a055057d6890ecbe17ecd042ecd2b74eaf"
    )


def test_a_lot_nobody_named_is_stated_unknown(tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    cert = certificate("P-1", ref, DEV_ADDRESS_0).model_copy(update={"material_lot": ""})
    document = certificate_document(cert)
    assert (document["material_lot"], document["material_lot_source"]) == ("unknown", "unknown")
    assert document["health_at_build"] == {}


def test_every_certificate_schema_ever_issued_is_a_certificate() -> None:
    assert kind_of({"schema": "trustfloor.certificate/1"}) is RecordKind.CERTIFICATE
    assert kind_of({"schema": "trustfloor.certificate/2"}) is RecordKind.CERTIFICATE


def test_a_failed_part_lists_its_reasons(tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    cert = certificate("P-1", ref, DEV_ADDRESS_0, samples=[])
    document = certificate_document(cert)
    assert document["verdict"] == "fail"
    assert document["reasons"] == list(cert.reasons)
    assert "laser_power_w: no samples recorded" in cert.reasons


def test_later_records_refer_to_their_certificate() -> None:
    result = InspectionResult(
        check="cmm", result=Verdict.PASS, inspector="anna", at=T0, note="re-measured"
    )
    inspection = inspection_document("P-1", "ab" * 32, result, DEV_ADDRESS_0, T0)
    assert inspection["inspection"] == {
        "check": "cmm",
        "result": "pass",
        "inspector": "anna",
        "at": "2026-11-03T09:00:00Z",
        "note": "re-measured",
    }
    revocation = revocation_document("P-1", "ab" * 32, "crack", "qe", DEV_ADDRESS_0, T0)
    assert (kind_of(inspection), kind_of(revocation)) == (
        RecordKind.INSPECTION,
        RecordKind.REVOCATION,
    )
    assert revocation["certificate"] == "ab" * 32
    assert canonical_json(revocation).startswith(b'{"certificate":"abab')


def test_each_kind_has_its_own_frozen_leaf_tag() -> None:
    assert LEAF_TAG == {
        RecordKind.CERTIFICATE: b"trustfloor-cert-v1\x00",
        RecordKind.INSPECTION: b"trustfloor-inspection-v1\x00",
        RecordKind.REVOCATION: b"trustfloor-revocation-v1\x00",
        RecordKind.SUSPENSION: b"trustfloor-suspension-v1\x00",
        RecordKind.REINSTATEMENT: b"trustfloor-reinstatement-v1\x00",
        RecordKind.END_OF_LIFE: b"trustfloor-end-of-life-v1\x00",
    }


def test_unknown_schemas_and_naive_timestamps_are_refused() -> None:
    with pytest.raises(CanonicalEncodingError, match="unknown record schema"):
        kind_of({"schema": "trustfloor.certificate/9"})
    assert iso(T0.replace(microsecond=5)) == "2026-11-03T09:00:00.000005Z"
