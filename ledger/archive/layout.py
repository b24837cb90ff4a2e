"""An archive's layout: its folders, its manifest's format, and the SHA-256 of a file."""

from __future__ import annotations

import hashlib
from pathlib import Path

ARCHIVE_FORMAT = "trustfloor.archive/1"
MANIFEST = "manifest.json"
CERTIFICATES = "certificates"
"""One proof bundle per part: its certificate, later records, inclusion proofs, anchors."""
EVIDENCE = "evidence"
"""One samples document per part: the canonical bytes its certificate's evidence digests."""
RECALLS = "recalls"
"""Per campaign: its state and closures, and its frozen list of affected parts."""
STATEMENTS = "statements"
"""The site's usage and billing statements, one folder per design revision, one file a month."""
DOSSIERS = "dossiers.json"
ANCHORS = "anchors.json"
LIFE = "end_of_life.json"

STATUS_CHECKS = frozenset({"revocation", "suspension"})
"""Checks that say where a certificate stands, not whether a document is intact."""


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()
