"""C2SP signed notes, checkpoints and cosignature/v1 against published vectors and by property."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.merkle import EMPTY_ROOT
from ledger.transparency import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
    verify_note,
)
from ledger.transparency.note import cosigned_message

VECTORS = json.loads(
    (Path(__file__).parents[2] / "testdata" / "transparency" / "note_vectors.json").read_text()
)
LOG = Signer.from_seed("example.com/site-log", bytes(range(32)))
WITNESS = Signer.from_seed("example.com/notary", bytes(range(1, 33)), COSIGNATURE_V1)


@pytest.mark.parametrize("vector", VECTORS["signed_notes"], ids=["c2sp-example", "go-note"])
def test_published_notes_verify_and_a_changed_text_does_not(vector: dict[str, Any]) -> None:
    verifier = Verifier.from_vkey(vector["vkey"])
    assert verifier.vkey() == vector["vkey"]
    note = Note.parse(vector["note"])
    assert verify_note(note, [verifier]) == note.signatures
    assert note.render() == vector["note"]
    changed = Note(note.text.replace("e", "E", 1), note.signatures)
    with pytest.raises(NoteError, match="does not verify"):
        verify_note(changed, [verifier])


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    vector = VECTORS["signed_notes"][1]
    seed = base64.b64decode(vector["skey"].split("+", 4)[4])[1:]
    signer = Signer.from_seed("PeterNeumann", seed)
    text = Note.parse(vector["note"]).text
    assert Note(text, (signer.sign(text),)).render() == vector["note"]
    assert signer.verifier().vkey() == vector["vkey"]


@pytest.mark.parametrize("vkey", VECTORS["verifier_keys"]["valid"])
def test_published_verifier_keys_parse_with_their_key_ids(vkey: str) -> None:
    verifier = Verifier.from_vkey(vkey)
    assert verifier.signature_type in (ED25519, COSIGNATURE_V1)
    assert verifier.vkey() == vkey


@pytest.mark.parametrize(
    "vkey",
    [
        *VECTORS["verifier_keys"]["invalid"],
        "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    ],
)
def test_malformed_verifier_keys_and_a_wrong_key_id_are_refused(vkey: str) -> None:
    with pytest.raises(NoteError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize("vector", VECTORS["cosignature_timestamps"])
def test_cosignature_timestamps_read_as_published(vector: dict[str, Any]) -> None:
    line = f"\u2014 witness.example/w1 {vector['signature']}"
    assert NoteSignature.parse(line).timestamp == vector["timestamp"]


def test_the_cosigned_message_is_the_one_the_spec_shows() -> None:
    vector = VECTORS["cosigned_message"]
    message = cosigned_message(vector["checkpoint"], vector["timestamp"])
    assert message == vector["message"].encode()


def test_a_cosignature_verifies_only_with_its_timestamp_and_text() -> None:
    text = Checkpoint("example.com/site-log", 3, bytes(32)).text()
    cosignature = WITNESS.sign(text, 1_700_000_000)
    assert cosignature.timestamp == 1_700_000_000
    note = Note(text, (LOG.sign(text), cosignature))
    assert verify_note(note, [WITNESS.verifier()]) == (cosignature,)
    moved = NoteSignature(
        cosignature.name, cosignature.key_id, (1).to_bytes(8, "big") + cosignature.signature[8:]
    )
    with pytest.raises(NoteError):
        verify_note(Note(text, (moved,)), [WITNESS.verifier()])


def test_unknown_keys_are_ignored_and_a_note_without_a_known_one_is_refused() -> None:
    text = "hello\n"
    stranger = Signer.from_seed("example.com/site-log", bytes(32))  # same name, another key
    note = Note(text, (stranger.sign(text), LOG.sign(text)))
    assert verify_note(note, [LOG.verifier()]) == (note.signatures[1],)
    with pytest.raises(NoteError, match="no signature of a known key"):
        verify_note(Note(text, (stranger.sign(text),)), [LOG.verifier()])


@pytest.mark.parametrize(
    "message",
    ["no blank line\n\u2014 a AAAAAAA=\n", "text\n\n", "text\n\nnot a signature\n", "t\x01\n\n"],
)
def test_malformed_notes_are_refused(message: str) -> None:
    with pytest.raises(NoteError):
        Note.parse(message)


@given(
    origin=st.text(alphabet="abcdefghijklmnopqrstuvwxyz./-0123456789", min_size=1, max_size=40),
    size=st.integers(min_value=0, max_value=2**63),
    root=st.binary(min_size=32, max_size=32),
)
def test_checkpoints_survive_their_text(origin: str, size: int, root: bytes) -> None:
    checkpoint = Checkpoint(origin, size, root)
    assert Checkpoint.parse(checkpoint.text()) == checkpoint


@pytest.mark.parametrize(
    "text",
    [
        "log\n007\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "log\n1\nnot base64\n",
        "log\n1\n",
    ],
    ids=["leading-zero", "bad-root", "two-lines"],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Checkpoint.parse(text)


def test_the_empty_tree_is_known_by_its_root() -> None:
    assert Checkpoint("log", 0, EMPTY_ROOT).is_empty_tree
    assert not Checkpoint("log", 0, bytes(32)).is_empty_tree
