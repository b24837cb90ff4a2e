"""The quality engineer's part report: one self-contained, printable HTML file with plots."""

from __future__ import annotations

from ledger.report.command import ReportError, certificate_report, part_report_html

__all__ = ["ReportError", "certificate_report", "part_report_html"]
