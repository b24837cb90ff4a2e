"""A party's Ed25519 note key, kept as its 32-byte seed in a file only its owner may read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ledger.transparency.note import NoteError, Signer

SEED_LENGTH = 32


def load_or_create_signer(path: Path, name: str, signature_type: int) -> Signer:
    """The key in ``path`` under ``name``; a new random key is written (0600) when none exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(SEED_LENGTH))
            handle.flush()
            os.fsync(handle.fileno())
    if path.stat().st_mode & 0o077:
        raise NoteError(
            f"{path} may be read by others: chmod 600 {path}",
            advice="a note key must be readable by its owner only",
        )
    seed = path.read_bytes()
    if len(seed) != SEED_LENGTH:
        raise NoteError(f"{path} is not a {SEED_LENGTH}-byte Ed25519 seed")
    return Signer.from_seed(name, seed, signature_type)
