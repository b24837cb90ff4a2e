"""Archives: documents and their proofs as plain files that verify offline with no database."""

from __future__ import annotations

from ledger.archive.checker import ArchiveReport, archive_trust, check_archive, read_manifest
from ledger.archive.layout import STATUS_CHECKS
from ledger.archive.writer import Exported, export_archive, site_statements

__all__ = [
    "STATUS_CHECKS",
    "ArchiveReport",
    "Exported",
    "archive_trust",
    "check_archive",
    "export_archive",
    "read_manifest",
    "site_statements",
]
