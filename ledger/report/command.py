"""``trustfloor certificate report``: the part's records rendered into one file, written whole."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from config import Settings
from ledger.commands import CommandResult, ledger_store
from ledger.errors import LedgerError
from ledger.report.page import render_part_report
from ledger.report.part import PartRecords, Standing, load_part, part_standing, verify_part
from ledger.trust import IssuerTrust
from models import Clock, ExitCode, SystemClock, VerificationReport


class ReportError(LedgerError):
    """The report could not be written where it was asked for."""

    advice = "Pass --out a path in an existing, writable folder."


def certificate_report(
    settings: Settings, serial: str, out: Path, clock: Clock | None = None
) -> CommandResult:
    """``trustfloor certificate report SERIAL --out part.html``: write the part's HTML report."""
    now = (clock or SystemClock()).now()
    part, report, standing = _checked_part(settings, serial, now)
    write_atomically(out, render_part_report(part, report, standing, now))
    plots = len(part.document["evidence"]["parameters"])
    return CommandResult(
        ExitCode.OK, f"wrote {out}: part {serial}, {standing.word}, {plots} parameter plot(s)\n"
    )


def part_report_html(settings: Settings, serial: str, now: datetime) -> str:
    """The part's report as HTML text (what exports hand over beside the certificate)."""
    part, report, standing = _checked_part(settings, serial, now)
    return render_part_report(part, report, standing, now)


def _checked_part(
    settings: Settings, serial: str, now: datetime
) -> tuple[PartRecords, VerificationReport, Standing]:
    store = ledger_store(settings)
    try:
        part = load_part(store, serial)
    finally:
        store.close()
    trust = IssuerTrust.pinning(
        settings.ledger.trusted_issuers, any_issuer=True, source="ledger.trusted_issuers"
    )
    report = verify_part(part, now, trust)
    return part, report, part_standing(part, report)


def write_atomically(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` through a temporary file, so a reader never sees half a report."""
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ReportError(f"cannot write the report to {out}: {exc}") from exc
