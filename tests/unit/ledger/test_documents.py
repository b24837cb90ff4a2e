"""Signed documents: the certificate layout is pinned, and every schema names its kind."""

from __future__ import annotations

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
from models.parts import InspectionResult, RecordKind, Verdict
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, T0, certificate, design_ref


def test_a_certificate_document_holds_every_fact_and_is_pinned(tmp_path: Path) -> None:
    _, ref = design_ref(tmp_path)
    document = certificate_document(certificate("P-2026-000417", ref, DEV_ADDRESS_0))
    assert sorted(document) == [
        "design",
        "evidence",
        "health",
        "inspections",
        "issued_at",
        "issuer",
        "job",
        "material_lot",
        "order",
        "printer",
        "schema",
        "serial",
        "verdict",
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
    assert document["issued_at"] == "2026-11-03T09:00:30Z"
    # FROZEN for schema trustfloor.certificate/1: a new layout is a new schema version.
    assert canonical_digest(document).hex() == (
        "5020c9c754d7e047d6d0a62ba5de914447b9a299a1b634d72f1124882cc56d1e"
    )


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
    }


def test_unknown_schemas_and_naive_timestamps_are_refused() -> None:
    with pytest.raises(CanonicalEncodingError, match="unknown record schema"):
        kind_of({"schema": "trustfloor.certificate/9"})
    assert iso(T0.replace(microsecond=5)) == "2026-11-03T09:00:00.000005Z"
