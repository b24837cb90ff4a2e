"""Certificates in the formats partners read: AASX, W3C VC (JOSE), EN 10204 3.1, status lists."""

from __future__ import annotations

from ledger.exports.commands import ExportFormat, export_certificate, status_list
from ledger.exports.status_list import STATUS_PURPOSES

__all__ = ["STATUS_PURPOSES", "ExportFormat", "export_certificate", "status_list"]
