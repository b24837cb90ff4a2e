"""A verifier accepts a checkpoint signed by its log and cosigned by k of n known witnesses."""

from __future__ import annotations

import pytest

from ledger.merkle import hash_leaf, root_hash
from ledger.transparency import (
    COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    check_cosigned,
    split_view,
)

ORIGIN = "example.com/site-log"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
OEM = Signer.from_seed("oem.example/witness", bytes(range(1, 33)), COSIGNATURE_V1)
NOTARY = Signer.from_seed("notary.example/witness", bytes(range(2, 34)), COSIGNATURE_V1)
STRANGER = Signer.from_seed("stranger.example/witness", bytes(range(3, 35)), COSIGNATURE_V1)
WITNESSES = [OEM.verifier(), NOTARY.verifier()]
TEXT = Checkpoint(ORIGIN, 2, root_hash([hash_leaf(b"a"), hash_leaf(b"b")])).text()


def cosigned(*cosigners: Signer, text: str = TEXT, log: Signer = LOG) -> str:
    lines = (log.sign(text), *(c.sign(text, 1_765_000_000) for c in cosigners))
    return Note(text, lines).render()


def forged(signature: NoteSignature) -> NoteSignature:
    raw = bytearray(signature.signature)
    raw[-1] ^= 1
    return NoteSignature(signature.name, signature.key_id, bytes(raw))


def test_two_of_two_witnesses_pass() -> None:
    verdict = check_cosigned(cosigned(OEM, NOTARY), LOG.verifier(), WITNESSES, 2)
    assert verdict.ok, verdict.problems
    assert verdict.witnesses == ("oem.example/witness", "notary.example/witness")
    assert verdict.checkpoint.size == 2


def test_one_cosignature_missing_fails_a_quorum_of_two() -> None:
    verdict = check_cosigned(cosigned(OEM, STRANGER), LOG.verifier(), WITNESSES, 2)
    assert verdict.problems == (
        "1 of the 2 witness cosignatures required; none from notary.example/witness",
    )
    assert check_cosigned(cosigned(OEM), LOG.verifier(), WITNESSES, 1).ok


def test_a_forged_cosignature_fails() -> None:
    note = Note.parse(cosigned(OEM, NOTARY))
    tampered = Note(note.text, (*note.signatures[:2], forged(note.signatures[2]))).render()
    verdict = check_cosigned(tampered, LOG.verifier(), WITNESSES, 2)
    assert "the cosignature of witness notary.example/witness does not verify" in verdict.problems
    assert not verdict.ok


def test_a_checkpoint_not_signed_by_the_pinned_log_fails() -> None:
    other = Signer.from_seed(ORIGIN, bytes(32))
    verdict = check_cosigned(cosigned(OEM, NOTARY, log=other), LOG.verifier(), WITNESSES, 2)
    assert verdict.problems == (f"no signature of the log {ORIGIN}",)


def test_a_quorum_that_cannot_be_met_is_a_configuration_error() -> None:
    with pytest.raises(NoteError):
        check_cosigned(cosigned(OEM, NOTARY), LOG.verifier(), WITNESSES, 3)


def test_two_signed_checkpoints_of_one_size_with_two_roots_are_a_split_view() -> None:
    fork = Checkpoint(ORIGIN, 2, root_hash([hash_leaf(b"a"), hash_leaf(b"c")])).text()
    proof = split_view(cosigned(text=TEXT), cosigned(text=fork), LOG.verifier())
    assert proof is not None
    assert {proof[0].root, proof[1].root} == {
        Checkpoint.parse(TEXT).root,
        Checkpoint.parse(fork).root,
    }
    assert split_view(cosigned(text=TEXT), cosigned(text=TEXT), LOG.verifier()) is None
    unsigned = cosigned(text=fork, log=Signer.from_seed(ORIGIN, bytes(32)))
    assert split_view(cosigned(text=TEXT), unsigned, LOG.verifier()) is None
