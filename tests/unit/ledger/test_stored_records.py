"""A part's records are read back from the store only when they re-derive from their bodies."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.canonical import JsonObject, JsonValue, canonical_json
from ledger.documents import LEAF_TAG, inspection_document
from ledger.errors import StoredRecordAlteredError, UnknownRecordError
from ledger.issuing import Issuer, sign_record
from ledger.merkle import hash_leaf
from ledger.store import LedgerStore
from ledger.stored import checked_part
from models.parts import InspectionResult, RecordKind, Verdict
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, FORGER, T0, sealed_store

ALTERED = "the ledger store was altered"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LedgerStore]:
    """Three anchored certificates of dev key 0, and a later inspection of P-0001."""
    store, key, _ = sealed_store(tmp_path, count=3)
    certificate = store.leaf("P-0001", RecordKind.CERTIFICATE)
    assert certificate is not None
    cmm = InspectionResult(check="cmm", result=Verdict.FAIL, inspector="ben", at=T0)
    Issuer(store, key, BatchPolicy(10, timedelta(seconds=1))).issue_record(
        RecordKind.INSPECTION,
        inspection_document("P-0001", certificate.leaf_hash.hex(), cmm, key.address, T0),
        T0,
    )
    yield store
    store.close()


def tamper(store: LedgerStore, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Change the store's file behind its back, as someone with write access to it could."""
    with sqlite3.connect(store.path) as db:
        for sql, args in statements:
            db.execute(sql, args)


def body_of(store: LedgerStore, serial: str) -> JsonObject:
    row = store.leaf(serial, RecordKind.CERTIFICATE)
    assert row is not None
    document: JsonObject = json.loads(row.body)
    return document


def rewrite_body(store: LedgerStore, serial: str, **changes: JsonValue) -> bytes:
    """Store an edited certificate body; return its new canonical bytes."""
    body = canonical_json(body_of(store, serial) | changes)
    tamper(
        store,
        ("UPDATE leaves SET body = ? WHERE serial = ? AND kind = 'certificate'", (body, serial)),
    )
    return body


def test_an_untouched_part_reads_back_with_its_later_records(store: LedgerStore) -> None:
    part = checked_part(store, "P-0001", issuer=DEV_ADDRESS_0.lower())
    assert part.certificate.serial == "P-0001"
    assert [r.kind for r in part.later] == [RecordKind.INSPECTION]
    with pytest.raises(UnknownRecordError, match="no certificate for part P-0404"):
        checked_part(store, "P-0404")


def test_swapped_serials_are_refused_naming_the_serial_held(store: LedgerStore) -> None:
    swap = "UPDATE leaves SET serial = ? WHERE serial = ? AND kind = 'certificate'"
    tamper(
        store,
        (swap, ("swap", "P-0000")),
        (swap, ("P-0000", "P-0002")),
        (swap, ("P-0002", "swap")),
    )
    with pytest.raises(StoredRecordAlteredError) as raised:
        checked_part(store, "P-0000")
    assert str(raised.value) == f"stored certificate for P-0000 holds serial P-0002: {ALTERED}"


def test_an_edited_lot_no_longer_hashes_to_the_stored_leaf(store: LedgerStore) -> None:
    rewrite_body(store, "P-0002", material_lot="Ti64-L0000")
    with pytest.raises(StoredRecordAlteredError, match=f"leaf hash .* {ALTERED}") as raised:
        checked_part(store, "P-0002")
    assert str(raised.value).startswith("stored certificate for P-0002: its body hashes to leaf ")


def test_an_edited_verdict_with_its_leaf_hash_fails_the_signature(store: LedgerStore) -> None:
    body = rewrite_body(store, "P-0002", verdict="fail")
    leaf_hash = hash_leaf(LEAF_TAG[RecordKind.CERTIFICATE] + body)
    tamper(store, ("UPDATE leaves SET leaf_hash = ? WHERE serial = 'P-0002'", (leaf_hash,)))
    with pytest.raises(StoredRecordAlteredError, match=f"not signed by its issuer .*{ALTERED}"):
        checked_part(store, "P-0002")


def test_a_record_re_signed_by_another_key_is_not_under_the_batch_root(
    store: LedgerStore,
) -> None:
    document = body_of(store, "P-0002") | {"verdict": "fail", "issuer": FORGER.address}
    forged = sign_record(FORGER, RecordKind.CERTIFICATE, document)
    tamper(
        store,
        (
            "UPDATE leaves SET body = ?, leaf_hash = ?, signature = ? WHERE serial = 'P-0002'",
            (forged.body, forged.leaf_hash, forged.signature),
        ),
    )
    with pytest.raises(StoredRecordAlteredError, match=f"batch 1 root .*{ALTERED}"):
        checked_part(store, "P-0002")


def test_a_batch_root_that_differs_from_its_anchor_receipt_is_refused(
    store: LedgerStore,
) -> None:
    tamper(store, ("UPDATE batches SET root = ? WHERE id = 1", (b"\x01" * 32,)))
    with pytest.raises(StoredRecordAlteredError, match=f"batch 1 .*{ALTERED}"):
        checked_part(store, "P-0001")


def test_a_record_not_issued_by_the_reading_site_is_refused(store: LedgerStore) -> None:
    expected = f"issued by {DEV_ADDRESS_0}, not by this site's issuer {FORGER.address}"
    with pytest.raises(StoredRecordAlteredError, match=expected):
        checked_part(store, "P-0001", issuer=FORGER.address)


def test_a_later_record_moved_to_another_part_is_refused(store: LedgerStore) -> None:
    tamper(store, ("UPDATE leaves SET serial = 'P-0000' WHERE kind = 'inspection'", ()))
    with pytest.raises(StoredRecordAlteredError) as raised:
        checked_part(store, "P-0000")
    assert str(raised.value) == (
        f"stored inspection record for P-0000 holds serial P-0001: {ALTERED}"
    )
