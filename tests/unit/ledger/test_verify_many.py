"""Verifying many bundles at once gives, bundle by bundle, the reports of verifying each alone."""

from __future__ import annotations

import pytest

from ledger.signing import SIGNING_CHUNK, recover_ahead, recover_signer
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from ledger.verify_many import verify_offline_many
from models.parts import AttestedRecord, ProofBundle
from tests.unit.ledger.ledgerkit import DEV_ADDRESS_0, FORGER, exported, sealed_store

SITE = IssuerTrust.pinning([DEV_ADDRESS_0])
COUNT = 2 * SIGNING_CHUNK + 5
"""Bundles enough for three chunks of signatures recovered ahead."""


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> list[ProofBundle]:
    store, _, serials = sealed_store(tmp_path_factory.mktemp("ledger"), count=COUNT)
    exported_bundles = [exported(store, serial) for serial in serials]
    store.close()
    return exported_bundles


def _with_certificate(bundle: ProofBundle, **changes: object) -> ProofBundle:
    record = bundle.certificate.model_copy(update=changes)
    return bundle.model_copy(update={"certificate": record})


def _flipped(hex_text: str, at: int) -> str:
    return hex_text[:at] + ("1" if hex_text[at] == "0" else "0") + hex_text[at + 1 :]


def test_many_bundles_get_the_reports_each_gets_alone(bundles: list[ProofBundle]) -> None:
    mixed = list(bundles)
    first = mixed[3].certificate
    mixed[3] = _with_certificate(mixed[3], signature=_flipped(first.signature, 10))
    mixed[SIGNING_CHUNK] = _with_certificate(
        mixed[SIGNING_CHUNK], document=mixed[SIGNING_CHUNK].certificate.document | {"serial": "X"}
    )
    proof = mixed[-2].certificate.proof
    assert proof is not None
    bent = proof.model_copy(update={"path": (_flipped(proof.path[0], 0), *proof.path[1:])})
    mixed[-2] = _with_certificate(mixed[-2], proof=bent)
    mixed[-1] = _with_certificate(mixed[-1], signature=first.signature[:-2] + "02")
    expected = [verify_offline(bundle, trust=SITE) for bundle in mixed]
    assert verify_offline_many(mixed, trust=SITE) == expected
    assert [n for n, report in enumerate(expected) if not report.valid] == [
        3,
        SIGNING_CHUNK,
        COUNT - 2,
        COUNT - 1,
    ]


def test_an_unpinned_issuer_fails_alike(bundles: list[ProofBundle]) -> None:
    other = IssuerTrust.pinning([FORGER.address])
    reports = verify_offline_many(bundles[:3], trust=other)
    assert reports == [verify_offline(bundle, trust=other) for bundle in bundles[:3]]
    assert not any(report.valid for report in reports)


def test_a_signer_recovered_ahead_is_the_signer_recovered_alone(bundles: list[ProofBundle]) -> None:
    record: AttestedRecord = bundles[0].certificate
    pair = (bytes.fromhex(record.leaf_hash), bytes.fromhex(record.signature))
    alone = recover_signer(*pair)
    for future in recover_ahead([pair]):
        future.result()
    assert recover_signer(*pair) == alone == bytes.fromhex(DEV_ADDRESS_0[2:])


def test_no_bundles_no_reports() -> None:
    assert verify_offline_many([], trust=SITE) == []


def test_a_document_whose_members_come_out_of_order_verifies_alike(
    bundles: list[ProofBundle],
) -> None:
    bundle = bundles[0]
    document = bundle.certificate.document
    reordered = _with_certificate(bundle, document=dict(reversed(list(document.items()))))
    assert list(reordered.certificate.document) != list(document)
    assert verify_offline(reordered, trust=SITE) == verify_offline(bundle, trust=SITE)
    assert verify_offline(reordered, trust=SITE).valid
