"""The site log grows with each seal, signs checkpoints and brings its witnesses up to date."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from ledger.batcher import BatchPolicy
from ledger.errors import LedgerStateError
from ledger.issuing import Issuer
from ledger.merkle import consistency_proof, verify_consistency, verify_inclusion
from ledger.signing import SiteKey
from ledger.sitelog import LOG_KEY_ENV, site_log_signer
from ledger.store import LedgerStore
from ledger.transparency import (
    COSIGNATURE_V1,
    ED25519,
    NoteError,
    Signer,
    Witness,
    check_cosigned,
)
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from ledger.witnessing import RETRY_FIRST, KnownWitness, Witnessing, WitnessUnreachableError
from models import RecordKind
from models.timebase import ManualClock
from tests.unit.ledger.ledgerkit import (
    DEV_KEY_0,
    SYNTHETIC_TX,
    T0,
    certificate,
    design_ref,
    exported,
    seal_as_anchored,
    sealed_store,
)

ORIGIN = "trustfloor/test-site"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
NOW = 1_765_000_000


def witness_signer(name: str, seed: int) -> Signer:
    return Signer.from_seed(name, bytes([seed]) * 32, COSIGNATURE_V1)


class Witnesses:
    """Real witnesses behind the ``Post`` seam, one of which can be taken down."""

    def __init__(self, folder: Path) -> None:
        self.signers = {
            "oem": witness_signer("oem.example/w", 7),
            "notary": witness_signer("n/w", 9),
        }
        self.down: set[str] = set()
        self.witness = {
            name: Witness(signer, {ORIGIN: [LOG.verifier()]}, folder / f"{name}.json", lambda: NOW)
            for name, signer in self.signers.items()
        }

    def known(self) -> list[KnownWitness]:
        return [
            KnownWitness.parse(name, signer.verifier().vkey(), f"http://{name}")
            for name, signer in self.signers.items()
        ]

    def post(self, url: str, body: str) -> tuple[int, str]:
        name = url.removeprefix("http://").removesuffix("/add-checkpoint")
        if name in self.down:
            raise WitnessUnreachableError(f"{url}: connection refused")
        answer = self.witness[name].add_checkpoint(body)
        return answer.status, answer.body


def issue(store: LedgerStore, folder: Path, serials: list[str]) -> None:
    key = SiteKey.from_hex(DEV_KEY_0)
    _, ref = design_ref(folder)
    issuer = Issuer(store, key, BatchPolicy(1000, timedelta(seconds=60)))
    issuer.issue_certificates([certificate(s, ref, key.address) for s in serials])


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    store = LedgerStore(tmp_path / "ledger.sqlite")
    store.log_signer = LOG
    return store


def seal(store: LedgerStore, folder: Path, serials: list[str]) -> None:
    issue(store, folder, serials)
    assert store.seal(1000, T0) is not None


def test_each_seal_grows_one_log_with_a_signed_checkpoint(
    store: LedgerStore, tmp_path: Path
) -> None:
    seal(store, tmp_path, ["P-1", "P-2", "P-3"])
    seal(store, tmp_path, ["P-4", "P-5"])
    first, second = store.checkpoints()
    assert (first.size, second.size) == (3, 5)
    assert first.checkpoint.origin == ORIGIN
    hashes = store.log_hashes()
    proof = consistency_proof(hashes, 3, 5)
    verify_consistency(3, 5, first.checkpoint.root, second.checkpoint.root, proof)
    row = store.leaf("P-4", RecordKind.CERTIFICATE)
    assert row is not None
    assert row.batch is not None
    assert (row.leaf_index, row.batch.size, row.batch.root) == (3, 5, second.checkpoint.root)
    verify_inclusion(3, 5, row.leaf_hash, row.proof, second.checkpoint.root)
    early = store.leaf("P-1", RecordKind.CERTIFICATE)
    assert early is not None
    assert early.batch is not None
    assert (early.leaf_index, early.batch.size) == (0, 3)


def test_a_store_with_a_log_does_not_seal_without_its_key(
    store: LedgerStore, tmp_path: Path
) -> None:
    seal(store, tmp_path, ["P-1"])
    store.log_signer = None
    issue(store, tmp_path, ["P-2"])
    with pytest.raises(LedgerStateError, match="log key"):
        store.seal(1000, T0)


def test_witnesses_cosign_each_checkpoint_and_a_down_one_catches_up_later(
    store: LedgerStore, tmp_path: Path
) -> None:
    witnesses = Witnesses(tmp_path)
    clock = ManualClock(T0)
    submitting = Witnessing(store, witnesses.known(), witnesses.post, clock)
    seal(store, tmp_path, ["P-1", "P-2", "P-3"])
    witnesses.down.add("notary")
    first = submitting.submit()
    assert first.cosigned == ["oem cosigned size 3"]
    assert first.failures == ["witness notary: http://notary/add-checkpoint: connection refused"]
    seal(store, tmp_path, ["P-4", "P-5"])
    witnesses.down.clear()
    resting = submitting.submit()  # a witness that failed is asked again only after a while
    assert (resting.cosigned, resting.failures) == (["oem cosigned size 5"], [])
    clock.advance(RETRY_FIRST.total_seconds())
    second = submitting.submit()
    assert second.cosigned == [
        "notary cosigned size 3",
        "notary cosigned size 5",
    ]
    assert submitting.submit().cosigned == []
    keys = [k.verifier for k in witnesses.known()]
    for stored in store.checkpoints():
        verdict = check_cosigned(stored.cosigned_note(), LOG.verifier(), keys, 2)
        assert verdict.ok, verdict.problems
        assert set(verdict.witnesses) == {"oem.example/w", "n/w"}


def test_a_witness_that_cosigned_further_tells_the_site_its_size(
    store: LedgerStore, tmp_path: Path
) -> None:
    witnesses = Witnesses(tmp_path)
    seal(store, tmp_path, ["P-1", "P-2"])
    seal(store, tmp_path, ["P-3"])
    Witnessing(store, witnesses.known(), witnesses.post).submit()
    store.set_witness_progress("oem", 0)  # as if the site had lost what it knew
    seal(store, tmp_path, ["P-4"])
    done = Witnessing(store, witnesses.known(), witnesses.post).submit()
    assert done.failures == []
    assert "oem cosigned size 4" in done.cosigned
    assert store.witness_progress()["oem"] == 4


def test_a_cosignature_by_another_key_is_not_kept(store: LedgerStore, tmp_path: Path) -> None:
    witnesses = Witnesses(tmp_path)
    seal(store, tmp_path, ["P-1"])
    impostor = [
        KnownWitness.parse(
            "oem", witness_signer("oem.example/w", 8).verifier().vkey(), "http://oem"
        )
    ]
    done = Witnessing(store, impostor, witnesses.post).submit()
    assert done.cosigned == []
    assert done.failures == ["witness oem: its answer for size 1 holds no cosignature of its key"]
    assert store.checkpoints()[0].cosignatures == {}


def test_the_log_key_comes_from_the_environment_or_a_private_file(tmp_path: Path) -> None:
    made = site_log_signer(tmp_path, ORIGIN, {})
    assert (tmp_path / "log.key").stat().st_mode & 0o777 == 0o600
    assert site_log_signer(tmp_path, ORIGIN, {}).verifier() == made.verifier()
    given = site_log_signer(tmp_path, ORIGIN, {LOG_KEY_ENV: "11" * 32})
    assert given.verifier() == Signer.from_seed(ORIGIN, b"\x11" * 32, ED25519).verifier()
    with pytest.raises(NoteError, match=LOG_KEY_ENV):
        site_log_signer(tmp_path, ORIGIN, {LOG_KEY_ENV: "not hex"})


def test_batches_sealed_before_the_log_keep_their_format_1_bundles(tmp_path: Path) -> None:
    store, key, serials = sealed_store(tmp_path, count=2)  # one batch of its own, anchored
    store.log_signer = LOG
    issue(store, tmp_path, ["P-LOG"])
    seal_as_anchored(store, 1000, SYNTHETIC_TX, block_number=9)
    old, new = exported(store, serials[0]), exported(store, "P-LOG")
    trust = IssuerTrust.pinning([key.address])
    assert (old.format, old.certificate.checkpoint) == ("trustfloor.bundle/1", None)
    assert verify_offline(old, trust=trust).valid
    assert new.format == "trustfloor.bundle/2"
    assert new.certificate.proof is not None
    assert (new.certificate.proof.leaf_index, new.certificate.proof.tree_size) == (0, 1)
    assert verify_offline(new, trust=trust).valid
    stray = old.model_copy(
        update={
            "certificate": old.certificate.model_copy(
                update={"checkpoint": new.certificate.checkpoint}
            )
        }
    )
    assert not verify_offline(stray, trust=trust).valid


def test_a_store_behind_its_witnesses_is_reported_as_an_older_copy_or_a_fork(
    store: LedgerStore, tmp_path: Path
) -> None:
    witnesses = Witnesses(tmp_path)
    seal(store, tmp_path, ["P-1", "P-2", "P-3"])
    assert Witnessing(store, witnesses.known(), witnesses.post).submit().failures == []
    restored = LedgerStore(tmp_path / "restored.sqlite")  # an older copy: one leaf only
    restored.log_signer = LOG
    seal(restored, tmp_path / "copy", ["P-1"])
    done = Witnessing(restored, witnesses.known(), witnesses.post).submit()
    assert done.cosigned == []
    assert [f.split(":")[0] for f in done.failures] == ["witness oem", "witness notary"]
    assert "larger than this log's 1: this ledger store is an older copy" in done.failures[0]
