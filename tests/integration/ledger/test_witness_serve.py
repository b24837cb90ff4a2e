"""``trustfloor witness serve``: a separate process that cosigns over HTTP and keeps its state."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ledger.merkle import consistency_proof, hash_leaf, root_hash
from ledger.transparency import Checkpoint, Note, Signer, Verifier, verify_note
from models import ExitCode
from opcua_server.cli.main import main
from tests.integration.ledger.witness_kit import post, running_witness

ORIGIN = "example.com/site-log"
LOG = Signer.from_seed(ORIGIN, bytes(range(32)))
LEAVES = [hash_leaf(f"certificate {n}".encode()) for n in range(8)]
FORKED = [*LEAVES[:3], *(hash_leaf(f"forged {n}".encode()) for n in range(3, 8))]


def signed(size: int, leaves: list[bytes]) -> str:
    text = Checkpoint(ORIGIN, size, root_hash(leaves[:size])).text()
    return Note(text, (LOG.sign(text),)).render()


def body(old: int, size: int, leaves: list[bytes] = LEAVES) -> bytes:
    proof = consistency_proof(leaves, old, size) if 0 < old < size else []
    lines = [f"old {old}", *(base64.b64encode(p).decode() for p in proof)]
    return ("\n".join(lines) + "\n\n" + signed(size, leaves)).encode()


@contextmanager
def witness(data_dir: Path) -> Iterator[tuple[str, Verifier]]:
    """A running witness process: its URL and its verifier key."""
    with running_witness(data_dir, "notary.example/w1", [LOG.verifier().vkey()]) as running:
        yield running


def test_the_witness_cosigns_refuses_a_fork_and_remembers_across_a_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with witness(tmp_path) as (url, key):
        assert post(url, body(0, 3))[0] == 200
        status, cosignature = post(url, body(3, 8))
        assert status == 200
        note = Note.parse(signed(8, LEAVES) + cosignature)
        assert verify_note(note, [key])[0].name == "notary.example/w1"
        fork_status, reason = post(url, body(8, 8, FORKED))
        assert (fork_status, reason) == (
            422,
            "split view: two checkpoints of size 8 with different roots\n",
        )
    assert (tmp_path / "witness.key").stat().st_mode & 0o777 == 0o600
    assert main(["witness", "evidence", "--data-dir", str(tmp_path)]) == ExitCode.INVALID
    (split,) = json.loads(capsys.readouterr().out)
    assert (split["cosigned"], split["presented"]) == (signed(8, LEAVES), signed(8, FORKED))
    with witness(tmp_path) as (url, again):
        assert again == key
        assert post(url, body(3, 8)) == (409, "8\n")
