"""The witness cosigns only checkpoints that extend what it cosigned, and keeps split views."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from ledger.merkle import EMPTY_ROOT, consistency_proof, hash_leaf, root_hash
from ledger.transparency import (
    COSIGNATURE_V1,
    AddCheckpoint,
    Checkpoint,
    Note,
    Signer,
    Witness,
    WitnessState,
    verify_note,
)

ORIGIN = "example.com/site-log"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
NOTARY = Signer.from_seed("example.com/notary", bytes(range(1, 33)), COSIGNATURE_V1)
LEAVES = [hash_leaf(f"certificate {n}".encode()) for n in range(10)]
FORKED = [*LEAVES[:4], *(hash_leaf(f"other {n}".encode()) for n in range(4, 10))]
NOW = 1_765_000_000


def signed(size: int, leaves: list[bytes] = LEAVES, signer: Signer = LOG) -> str:
    text = Checkpoint(ORIGIN, size, root_hash(leaves[:size]) if size else EMPTY_ROOT).text()
    return Note(text, (signer.sign(text),)).render()


def request(old: int, size: int, leaves: list[bytes] = LEAVES, **kwargs: Signer) -> str:
    proof = consistency_proof(leaves, old, size) if 0 < old < size else []
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
    return "\n".join(lines) + "\n\n" + signed(size, leaves, **kwargs)


@pytest.fixture
def witness(tmp_path: Path) -> Witness:
    return Witness(NOTARY, {ORIGIN: [LOG.verifier()]}, tmp_path / "witness.json", lambda: NOW)


def test_a_consistent_checkpoint_is_cosigned_after_it_is_kept(
    witness: Witness, tmp_path: Path
) -> None:
    first = witness.add_checkpoint(request(0, 4))
    assert first.status == 200, first.body
    answer = witness.add_checkpoint(request(4, 9))
    assert answer.status == 200, answer.body
    note = Note.parse(signed(9) + answer.body)
    (cosignature,) = verify_note(note, [NOTARY.verifier()])
    assert cosignature.timestamp == NOW
    kept = WitnessState.load(tmp_path / "witness.json")
    assert Checkpoint.parse(Note.parse(kept.latest[ORIGIN]).text).size == 9


def test_a_stale_old_size_gets_the_size_cosigned_last(witness: Witness) -> None:
    witness.add_checkpoint(request(0, 4))
    conflict = witness.add_checkpoint(request(0, 9))
    assert (conflict.status, conflict.body, conflict.content_type) == (
        409,
        "4\n",
        "text/x.tlog.size",
    )


def test_a_forked_history_is_refused_and_kept_as_evidence(witness: Witness, tmp_path: Path) -> None:
    witness.add_checkpoint(request(0, 6))
    fork = witness.add_checkpoint(request(6, 10, FORKED))
    assert fork.status == 422
    same_size = witness.add_checkpoint(request(6, 6, FORKED))
    assert (same_size.status, same_size.body) == (
        422,
        "split view: two checkpoints of size 6 with different roots\n",
    )
    evidence = WitnessState.load(tmp_path / "witness.json").evidence
    assert [e.presented for e in evidence] == [signed(10, FORKED), signed(6, FORKED)]
    assert {e.cosigned for e in evidence} == {signed(6)}
    assert witness.add_checkpoint(request(6, 10)).status == 200  # the true history goes on


def test_the_state_survives_a_restart(witness: Witness, tmp_path: Path) -> None:
    witness.add_checkpoint(request(0, 5))
    again = Witness(NOTARY, {ORIGIN: [LOG.verifier()]}, tmp_path / "witness.json", lambda: NOW)
    assert again.add_checkpoint(request(0, 7)).body == "5\n"
    assert again.add_checkpoint(request(5, 7)).status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("old 0\n\n" + signed(3).replace(ORIGIN, "example.com/other", 1), 404),
        ("old 0\n\n" + signed(3, signer=Signer.from_seed(ORIGIN, bytes(32))), 403),
        ("old 5\n\n" + signed(3), 400),
        ("old 01\n\n" + signed(3), 400),
        ("old 0\nAAAA\n\n" + signed(3), 422),
        ("no blank line", 400),
    ],
    ids=["unknown-log", "wrong-key", "old-above-size", "padded-old", "proof-from-zero", "junk"],
)
def test_refusals_carry_the_status_the_spec_names(witness: Witness, body: str, status: int) -> None:
    assert witness.add_checkpoint(body).status == status


def test_a_checkpoint_of_size_zero_needs_the_empty_root(witness: Witness) -> None:
    text = Checkpoint(ORIGIN, 0, bytes(32)).text()
    body = "old 0\n\n" + Note(text, (LOG.sign(text),)).render()
    assert witness.add_checkpoint(body).status == 422
    assert witness.add_checkpoint(request(0, 0)).status == 200


def test_a_request_renders_as_the_body_it_parses_from() -> None:
    parsed = AddCheckpoint.parse(request(4, 9))
    assert parsed.render() == request(4, 9)
    assert (parsed.old_size, parsed.checkpoint.size) == (4, 9)
    assert list(parsed.proof) == consistency_proof(LEAVES, 4, 9)
