"""Offline verification of proof bundles, and tampering with every field of them."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.batcher import BatchPolicy
from ledger.bundle import bundle_json, read_bundle
from ledger.canonical import record_leaf
from ledger.documents import LEAF_TAG, inspection_document, revocation_document
from ledger.errors import BundleError
from ledger.issuing import Issuer
from ledger.merkle import hash_leaf
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.trust import IssuerTrust
from ledger.verify import content_leaf_hash, malformed, verify_offline
from models.parts import (
    InspectionResult,
    ProofBundle,
    RecordKind,
    Verdict,
    VerificationReport,
)
from tests.unit.ledger.ledgerkit import (
    DEV_ADDRESS_0,
    DEV_KEY_0,
    SYNTHETIC_CONTRACT,
    T0,
    certificate,
    design_ref,
    exported,
    seal_as_anchored,
    sealed_store,
)

SERIAL = "P-0002"
SITE = IssuerTrust.pinning([DEV_ADDRESS_0])
"""The verifier pins the issuing site (dev key 0)."""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> ProofBundle:
    store, _, _ = sealed_store(tmp_path_factory.mktemp("ledger"), count=5)
    exported_bundle = exported(store, SERIAL)
    store.close()
    return exported_bundle


def test_an_exported_bundle_verifies_offline(bundle: ProofBundle) -> None:
    report = verify_offline(bundle, trust=SITE)
    assert report.valid, report.reasons
    assert (report.mode, report.serial, report.part_verdict) == ("offline", SERIAL, Verdict.PASS)
    assert [c.name for c in report.checks] == [
        "certificate content",
        "certificate signature",
        "certificate inclusion",
        "certificate anchor receipt",
        "revocation",
        "issuer trust",
    ]
    assert bundle.certificate.proof is not None
    assert bundle.certificate.proof.leaf_index == 2
    assert bundle.certificate.anchor is not None
    assert bundle.certificate.anchor.contract == SYNTHETIC_CONTRACT


def test_the_bundle_survives_its_json_text(bundle: ProofBundle) -> None:
    again = read_bundle(bundle_json(bundle))
    assert again == bundle
    assert verify_offline(again, trust=SITE).valid


def test_the_fast_leaf_hash_agrees_with_rfc8785(bundle: ProofBundle) -> None:
    record = bundle.certificate
    odd = record.document | {"note": "1e-7 and ½", "tiny": 1e-7, "whole": 2.0}
    changed = record.model_copy(update={"document": odd})
    expected = hash_leaf(record_leaf(LEAF_TAG[RecordKind.CERTIFICATE], odd))
    claimed = changed.model_copy(update={"leaf_hash": expected.hex()})
    assert content_leaf_hash(claimed) == expected  # the guess differs here; RFC 8785 decides


# --------------------------------------------------------------------------- tampering


def leaf_paths(value: Any, prefix: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """The path of every scalar inside ``value`` (dict keys and list indices)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaf_paths(item, (*prefix, index))
    else:
        yield prefix


def altered(value: Any) -> Any:
    """A different value of the same JSON type (hex stays hex, so parsing still succeeds)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.25
    if isinstance(value, str):
        if not value:
            return "x"
        return value[:-1] + ("1" if value[-1] == "0" else "0")
    return "x"


def set_path(raw: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    target: Any = raw
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


def get_path(raw: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    target: Any = raw
    for step in path:
        target = target[step]
    return target


def template() -> dict[str, Any]:
    """The shape of a bundle, to enumerate its field paths at collection time."""
    folder = Path(tempfile.mkdtemp())
    store, _, _ = sealed_store(folder, count=5)
    raw = json.loads(bundle_json(exported(store, SERIAL)))
    store.close()
    return dict(raw)


TEMPLATE = template()
# Offline a verifier can check what the certificate, its signature, its proof and the root
# and size of its receipt say; the receipt's chain, contract, transaction and block are checked
# online (tests/integration/ledger/test_service.py tampers with those).
OFFLINE_FIELDS = [
    p
    for p in leaf_paths(TEMPLATE["certificate"], ("certificate",))
    if p[1] != "anchor" or p[2] in ("root", "size")
]
EXPECTED_CHECK = {
    "document": "certificate content",
    "leaf_hash": "certificate content",
    "signature": "certificate signature",
    "proof": "certificate inclusion",
    "anchor": "certificate anchor receipt",
    "checkpoint": "certificate checkpoint",
}


def verify_text(text: str) -> VerificationReport:
    try:
        return verify_offline(read_bundle(text), trust=SITE)
    except BundleError as exc:
        return malformed(str(exc))


def test_every_field_is_covered() -> None:
    names = {".".join(str(s) for s in p[:2]) for p in OFFLINE_FIELDS}
    assert {
        "certificate.kind",
        "certificate.document",
        "certificate.signature",
        "certificate.leaf_hash",
        "certificate.proof",
        "certificate.anchor",
    } <= names
    assert len(OFFLINE_FIELDS) > 60  # every evidence statistic, inspection and timestamp


@pytest.mark.parametrize("path", OFFLINE_FIELDS, ids=lambda p: ".".join(str(s) for s in p[1:]))
def test_altering_any_field_fails_verification_and_says_what(
    bundle: ProofBundle, path: tuple[str | int, ...]
) -> None:
    raw = json.loads(bundle_json(bundle))
    set_path(raw, path, altered(get_path(raw, path)))
    report = verify_text(json.dumps(raw))
    assert not report.valid
    failed = {c.name for c in report.checks if not c.passed}
    if failed == {"bundle"}:  # refused on load: a field left its allowed form
        assert str(path[-1]) in report.reasons[0]
        return
    if path[1:3] in (("proof", "root"), ("proof", "tree_size")):
        assert failed & {"certificate inclusion", "certificate anchor receipt"}
    elif path[1] == "document" and path[2] != "issuer":
        assert failed == {"certificate content"}, report.reasons  # the signed leaf still holds
    else:
        assert report.reasons[0].startswith(EXPECTED_CHECK[str(path[1])]), report.reasons


def test_removing_or_adding_a_certificate_field_fails(bundle: ProofBundle) -> None:
    for change in ("remove", "add"):
        raw = json.loads(bundle_json(bundle))
        document = raw["certificate"]["document"]
        if change == "remove":
            del document["material_lot"]
        else:
            document["warranty"] = "lifetime"
        report = verify_text(json.dumps(raw))
        assert not report.valid
        assert report.reasons[0].startswith("certificate content: the certificate hashes to leaf")


def test_a_certificate_and_leaf_hash_altered_together_fail_on_the_signature(
    bundle: ProofBundle,
) -> None:
    document = copy.deepcopy(bundle.certificate.document)
    document["verdict"] = "pass" if document["verdict"] == "fail" else "fail"
    record = bundle.certificate.model_copy(update={"document": document})
    record = record.model_copy(update={"leaf_hash": content_leaf_hash(record).hex()})
    report = verify_offline(bundle.model_copy(update={"certificate": record}), trust=SITE)
    failed = [c for c in report.checks if not c.passed]
    assert [c.name for c in failed] == ["certificate signature", "certificate inclusion"]
    assert "not by the issuer" in failed[0].detail


def test_a_bundle_that_is_not_json_or_not_a_bundle_is_refused() -> None:
    for text in ("{", "[]", '{"format": "other"}'):
        report = verify_text(text)
        assert not report.valid
        assert report.checks[0].name == "bundle"


# --------------------------------------------------------------------------- later records


def test_later_records_are_verified_and_a_revocation_invalidates(tmp_path: Path) -> None:
    store, key, _ = sealed_store(tmp_path, count=3)
    cert = store.leaf(SERIAL, RecordKind.CERTIFICATE)
    assert cert is not None
    issuer = Issuer(store, key, BatchPolicy(10, timedelta(seconds=1)))
    late = InspectionResult(check="tensile", result=Verdict.FAIL, inspector="ben", at=T0)
    issuer.issue_record(
        RecordKind.INSPECTION,
        inspection_document(SERIAL, cert.leaf_hash.hex(), late, key.address, T0),
        T0,
    )
    before_revocation = exported(store, SERIAL)
    report = verify_offline(before_revocation, trust=SITE)
    failed = [c.name for c in report.checks if not c.passed]
    assert failed == ["record 1 (inspection) inclusion", "record 1 (inspection) anchor receipt"]

    issuer.issue_record(
        RecordKind.REVOCATION,
        revocation_document(SERIAL, cert.leaf_hash.hex(), "porosity", "qe-anna", key.address, T0),
        T0,
    )
    seal_as_anchored(store, 10, "0x" + "cd" * 32, block_number=9)
    revoked = exported(store, SERIAL)
    report = verify_offline(revoked, trust=SITE)
    assert not report.valid
    assert report.part_verdict is Verdict.FAIL  # the later inspection failed
    assert [c.name for c in report.checks if not c.passed] == ["revocation"]
    assert report.reasons == ("revocation: revoked at 2026-11-03T09:00:00Z by qe-anna: porosity",)

    # a revocation record about another certificate is not this one's
    raw = json.loads(bundle_json(revoked))
    raw["records"][1]["document"]["certificate"] = "00" * 32
    tampered = verify_text(json.dumps(raw))
    assert "record 2 (revocation) content" in {c.name for c in tampered.checks if not c.passed}
    store.close()


def test_an_unsealed_certificate_is_not_valid(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "l.sqlite")
    key = SiteKey.from_hex(DEV_KEY_0)
    _, ref = design_ref(tmp_path)
    Issuer(store, key, BatchPolicy(10, timedelta(seconds=1))).issue_certificates(
        [certificate("U-1", ref, key.address)]
    )
    report = verify_offline(exported(store, "U-1"), trust=SITE)
    assert [c.name for c in report.checks if not c.passed] == [
        "certificate inclusion",
        "certificate anchor receipt",
    ]
    assert "not sealed" in report.reasons[0]
    store.close()
