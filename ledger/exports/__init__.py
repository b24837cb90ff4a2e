"""Certificates in the formats partners read: AASX, W3C VC (JOSE), EN 10204 3.1, status lists."""

from __future__ import annotations

from ledger.exports.commands import ExportFormat, export_certificate, revocation_status_list

__all__ = ["ExportFormat", "export_certificate", "revocation_status_list"]
