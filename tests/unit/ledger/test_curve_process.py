"""A curve process signs and recovers exactly as this process does, and survives a bad request."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.curve_process import CHUNKS_IN_FLIGHT, MAX_CHUNK, CurveProcess
from ledger.errors import LedgerStateError, SigningError
from ledger.issuing import Issuer
from ledger.signing import SiteKey, recover_signer, recovered_in
from ledger.store import LedgerStore
from ledger.transparency import Signer
from models.parts import PartCertificate, RecordKind
from tests.unit.ledger.ledgerkit import FORGER, T0, certificate, design_ref

KEY = SiteKey(bytes(range(1, 33)))
DIGESTS = [
    hashlib.sha256(str(n).encode()).digest() for n in range((CHUNKS_IN_FLIGHT + 3) * MAX_CHUNK + 3)
]
"""More chunks than are kept in flight."""
POLICY = BatchPolicy(3, timedelta(seconds=60))


@pytest.fixture(scope="module")
def curve() -> Iterator[CurveProcess]:
    with KEY.curve_process() as process:
        yield process


def test_the_curve_process_signs_as_the_key_does(curve: CurveProcess) -> None:
    assert KEY.sign_many(iter(DIGESTS), curve) == [KEY.sign(d) for d in DIGESTS]
    assert KEY.sign_many([], curve) == []


def test_another_key_refuses_the_process(curve: CurveProcess) -> None:
    with pytest.raises(SigningError, match="another key"):
        FORGER.sign_many(DIGESTS[:2], curve)


def test_a_refused_digest_leaves_the_process_ready(curve: CurveProcess) -> None:
    with pytest.raises(SigningError, match="32-byte digest"):
        KEY.sign_many([*DIGESTS[: 6 * MAX_CHUNK], bytes(31)], curve)
    assert KEY.sign_many(DIGESTS[:3], curve) == [KEY.sign(d) for d in DIGESTS[:3]]


def test_signers_recovered_in_the_process_are_the_signers_recovered_here(
    curve: CurveProcess,
) -> None:
    pairs = [(d, KEY.sign(d)) for d in DIGESTS[:5]] + [(d, FORGER.sign(d)) for d in DIGESTS[5:7]]
    unrecoverable = (DIGESTS[7], bytes(64) + b"\x00")  # r = 0: no point
    malformed = (DIGESTS[8], b"\x01" * 10)
    chunks = [pairs[:4], pairs[4:], [unrecoverable, malformed]]
    alone = [recover_signer(*pair) for pair in pairs]
    assert list(recovered_in(curve, chunks)) == [None, None, None]
    assert [recover_signer(*pair) for pair in pairs] == alone
    for refused in (unrecoverable, malformed):
        with pytest.raises(SigningError):
            recover_signer(*refused)


def test_a_closed_process_is_stopped() -> None:
    process = CurveProcess()
    process.close()
    with pytest.raises(SigningError, match="stopped"):
        list(process.map_chunks("recover", [[bytes(97)]]))


def test_runs_signed_and_appended_in_the_process_are_the_records_issued_here(
    curve: CurveProcess, tmp_path: Path
) -> None:
    _, ref = design_ref(tmp_path)
    certs = [certificate(f"S-{i}", ref, KEY.address) for i in range(7)]
    here, there = LedgerStore(tmp_path / "here.sqlite"), LedgerStore(tmp_path / "there.sqlite")
    expected = Issuer(here, KEY, POLICY).issue_in_runs(certs, 3, seal_at=T0)
    issued = Issuer(there, KEY, POLICY).issue_in_runs(certs, 3, seal_at=T0, curve=curve)
    assert issued == expected
    assert stored(there, certs) == stored(here, certs)
    assert [(b.root, b.size) for b in there.batches()] == [(b.root, b.size) for b in here.batches()]
    assert there.pending()[0] == 1
    here.close()
    there.close()


def test_a_run_the_process_refuses_keeps_the_runs_before_it(
    curve: CurveProcess, tmp_path: Path
) -> None:
    _, ref = design_ref(tmp_path)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    issuer = Issuer(store, KEY, POLICY)
    issuer.issue_certificates([certificate("S-4", ref, KEY.address)])
    certs = [certificate(f"S-{i}", ref, KEY.address) for i in range(8)]
    with pytest.raises(LedgerStateError, match="already issued"):
        issuer.issue_in_runs(certs, 3, curve=curve)  # the second run, S-3 to S-5, holds S-4
    kept = [c.serial for c in certs if store.leaf(c.serial, RecordKind.CERTIFICATE)]
    assert kept == ["S-0", "S-1", "S-2", "S-4"]
    assert KEY.sign_many(DIGESTS[:2], curve) == [KEY.sign(d) for d in DIGESTS[:2]]
    store.close()


def test_a_store_with_a_site_log_appends_here_and_grows_its_log(
    curve: CurveProcess, tmp_path: Path
) -> None:
    _, ref = design_ref(tmp_path)
    store = LedgerStore(tmp_path / "ledger.sqlite")
    store.log_signer = Signer.from_seed("example.com/site-log", bytes(range(32)))
    certs = [certificate(f"S-{i}", ref, KEY.address) for i in range(4)]
    Issuer(store, KEY, POLICY).issue_in_runs(certs, 2, seal_at=T0, curve=curve)
    assert [c.size for c in store.checkpoints()] == [3]
    store.close()


def stored(store: LedgerStore, certs: list[PartCertificate]) -> list[tuple[object, ...]]:
    rows = [store.leaf(c.serial, RecordKind.CERTIFICATE) for c in certs]
    return [(r.body, r.signature, r.leaf_index, r.proof) for r in rows if r]
