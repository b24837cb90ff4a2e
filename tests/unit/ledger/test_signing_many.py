"""Signing many digests on the signing threads gives the signatures of signing one by one."""

from __future__ import annotations

import hashlib

import pytest

from ledger.documents import certificate_document
from ledger.errors import SigningError
from ledger.issuing import sign_record, sign_records
from ledger.signing import SIGNING_CHUNK, SiteKey, recover_address
from models import DesignRef, RecordKind
from tests.unit.ledger.ledgerkit import certificate

KEY = SiteKey(bytes(range(1, 33)))


def test_sign_many_equals_one_by_one_in_order() -> None:
    digests = [hashlib.sha256(str(n).encode()).digest() for n in range(3 * SIGNING_CHUNK + 5)]
    signatures = KEY.sign_many(iter(digests))
    assert signatures == [KEY.sign(d) for d in digests]
    assert recover_address(digests[-1], signatures[-1]) == KEY.address


def test_sign_many_refuses_a_digest_of_the_wrong_size() -> None:
    with pytest.raises(SigningError, match="32-byte digest"):
        KEY.sign_many([bytes(32), bytes(31)])


def test_sign_records_equals_sign_record() -> None:
    ref = DesignRef(id="pump-impeller", revision="C", dossier_sha256="ab" * 32)
    documents = [
        certificate_document(certificate(f"P-{n:04d}", ref, KEY.address)) for n in range(20)
    ]
    expected = [sign_record(KEY, RecordKind.CERTIFICATE, d) for d in documents]
    assert sign_records(KEY, RecordKind.CERTIFICATE, documents) == expected
    assert sign_records(KEY, RecordKind.CERTIFICATE, []) == []
