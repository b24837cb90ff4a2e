"""Transparency-log formats (C2SP signed-note, tlog-checkpoint, cosignature/v1) and a witness."""

from ledger.transparency.checkpoint import Checkpoint
from ledger.transparency.keyfile import load_or_create_signer
from ledger.transparency.note import (
    COSIGNATURE_V1,
    ED25519,
    Note,
    NoteError,
    NoteSignature,
    Signer,
    Verifier,
    key_id,
    verify_note,
)
from ledger.transparency.witness import (
    AddCheckpoint,
    SplitView,
    Witness,
    WitnessAnswer,
    WitnessState,
)

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "AddCheckpoint",
    "Checkpoint",
    "Note",
    "NoteError",
    "NoteSignature",
    "Signer",
    "SplitView",
    "Verifier",
    "Witness",
    "WitnessAnswer",
    "WitnessState",
    "key_id",
    "load_or_create_signer",
    "verify_note",
]
