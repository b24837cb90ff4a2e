"""``trustfloor certificate report``: the part's records rendered into one file, written whole."""

from __future__ import annotations

import os
from pathlib import Path

from config import Settings
from ledger.commands import CommandResult, ledger_store
from ledger.errors import LedgerError
from ledger.report.page import render_part_report
from ledger.report.part import load_part, part_standing, verify_part
from ledger.trust import IssuerTrust
from models import Clock, ExitCode, SystemClock


class ReportError(LedgerError):
    """The report could not be written where it was asked for."""

    advice = "Pass --out a path in an existing, writable folder."


def certificate_report(
    settings: Settings, serial: str, out: Path, clock: Clock | None = None
) -> CommandResult:
    """``trustfloor certificate report SERIAL --out part.html``: write the part's HTML report."""
    store = ledger_store(settings)
    try:
        part = load_part(store, serial)
    finally:
        store.close()
    now = (clock or SystemClock()).now()
    trust = IssuerTrust.pinning(
        settings.ledger.trusted_issuers, any_issuer=True, source="ledger.trusted_issuers"
    )
    report = verify_part(part, now, trust)
    standing = part_standing(part, report)
    write_atomically(out, render_part_report(part, report, standing, now))
    plots = len(part.document["evidence"]["parameters"])
    return CommandResult(
        ExitCode.OK, f"wrote {out}: part {serial}, {standing.word}, {plots} parameter plot(s)\n"
    )


def write_atomically(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` through a temporary file, so a reader never sees half a report."""
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ReportError(f"cannot write the report to {out}: {exc}") from exc
