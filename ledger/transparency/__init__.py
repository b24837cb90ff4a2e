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
from ledger.transparency.quorum import CosignedCheckpoint, check_cosigned, split_view
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
    "CosignedCheckpoint",
    "Note",
    "NoteError",
    "NoteSignature",
    "Signer",
    "SplitView",
    "Verifier",
    "Witness",
    "WitnessAnswer",
    "WitnessState",
    "check_cosigned",
    "key_id",
    "load_or_create_signer",
    "split_view",
    "verify_note",
]
