"""Certificates of schema 1, exported before schema 2 existed, still verify as they were."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import Settings
from ledger.bundle import read_bundle
from ledger.canonical import canonical_json
from ledger.commands import verify_bundle_file
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from models import ExitCode, Verdict

V1_BUNDLES = Path(__file__).parents[2] / "data" / "certificates_v1"
"""Bundles ``trustfloor certificate export`` wrote with schema 1 (a site on its local chain):
-01 passed (with a model's health and a later inspection), -02 failed (layers short), -03 was
revoked after it was anchored."""

V1_ISSUER = "0x7cecC4d35aaF25979BBCbD87677eA12fDEa58073"
TRUST = IssuerTrust.pinning([V1_ISSUER])


def v1_bundle(serial: str) -> str:
    return (V1_BUNDLES / f"{serial}.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("serial", "part_verdict"),
    [("PO-000001-01", Verdict.PASS), ("PO-000001-02", Verdict.FAIL)],
)
def test_a_v1_bundle_verifies_offline(serial: str, part_verdict: Verdict) -> None:
    bundle = read_bundle(v1_bundle(serial))
    assert bundle.certificate.document["schema"] == "trustfloor.certificate/1"

    report = verify_offline(bundle, trust=TRUST)

    assert report.valid, report.reasons
    assert report.part_verdict is part_verdict
    assert report.serial == serial


def test_a_revoked_v1_bundle_still_reads_as_revoked() -> None:
    report = verify_offline(read_bundle(v1_bundle("PO-000001-03")), trust=TRUST)

    assert not report.valid
    assert any("revoked" in reason for reason in report.reasons)


def test_an_altered_v1_bundle_fails_its_content_check() -> None:
    raw = json.loads(v1_bundle("PO-000001-01"))
    raw["certificate"]["document"]["material_lot"] = "LOT-OTHER"

    report = verify_offline(read_bundle(json.dumps(raw)), trust=TRUST)

    assert not report.valid
    assert any(reason.startswith("certificate content") for reason in report.reasons)


def test_v1_documents_keep_their_exact_bytes() -> None:
    document = read_bundle(v1_bundle("PO-000001-01")).certificate.document
    assert b'"material_lot":"LOT-20261207-A"' in canonical_json(document)
    assert "material_lot_source" not in document
    assert "health_at_build" not in document


async def test_the_verify_command_accepts_a_v1_bundle(tmp_path: Path) -> None:
    issuers = tmp_path / "issuers.txt"
    issuers.write_text(V1_ISSUER + "\n", encoding="utf-8")

    result = await verify_bundle_file(
        V1_BUNDLES / "PO-000001-01.json", Settings(data_dir=tmp_path), offline=True, issuers=issuers
    )

    assert result.exit_code == ExitCode.OK, result.output
