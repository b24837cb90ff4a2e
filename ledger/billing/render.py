"""A billing statement for people: a summary, CSV lines, a printable PDF page."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ledger.billing.document import SignedStatement
from ledger.billing.verify import StatementReport


def _money(micros: object, currency: object) -> str:
    value = int(str(micros)) / 1_000_000
    return f"{value:.2f} {currency}" if currency else "-"


def summary_lines(statement: SignedStatement) -> list[str]:
    """The statement at a glance: parties, licence, counts, balances, proof."""
    doc: Any = statement.document  # a statement that was built or read as one
    parties, design, licence = doc["parties"], doc["design"], doc["licence"]
    counts, balances, proof = doc["counts"], doc["balances"], doc["proof"]
    period, chain = doc["period"], proof["chain"]
    accepted = "accepted by the OEM" if statement.countersignature else "not yet countersigned"
    return [
        f"statement {period['month']} for {design['id']}@{design['revision']} ({accepted})",
        f"  site       {parties['site']}",
        f"  OEM        {parties['oem']}",
        f"  licence    {licence['quota']} pieces (+{licence['overdraft']} overdraft) at "
        f"{_money(licence['price_micros'], licence['currency'])} per piece"
        + (" REVOKED" if licence["revoked"] else ""),
        f"  pieces     started {counts['started']}, certified {counts['certified']} (billable), "
        f"failed {counts['failed']}, revoked {counts['revoked']}, credited {counts['credited']}",
        f"  balance    counted {balances['counted_since_grant']} since the grant, remaining "
        f"{balances['remaining']}, overage {balances['overage']}; amount "
        f"{_money(balances['amount_micros'], balances['currency'])}",
        f"  proof      merkle root {proof['merkle_root']}, {len(proof['anchors'])} "
        f"anchor(s), counter {chain['counted_at_end']} at block {chain['end_block']}",
        f"  previous   {doc['previous'] or 'none (first statement)'}",
        f"  digest     {statement.digest.hex()}",
    ]


def statement_csv(statement: SignedStatement) -> str:
    """One line per piece: serial, certificate, printer, time, status, price."""
    doc: Any = statement.document
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["serial", "certificate", "printer", "issued_at", "status", "price", "batch"])
    currency = doc["licence"]["currency"]
    for piece in doc["pieces"]:
        writer.writerow(
            [
                piece["serial"],
                piece["certificate"],
                piece["printer"],
                piece["issued_at"],
                piece["status"],
                _money(piece["price_micros"], currency),
                piece["batch"],
            ]
        )
    return out.getvalue()


def write_pdf(statement: SignedStatement, path: Path) -> None:
    """A printable statement: the summary, then the pieces, as text pages (A4)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    lines = [*summary_lines(statement), "", "pieces (serial, printer, issued, status, price):"]
    doc: Any = statement.document
    currency = doc["licence"]["currency"]
    for piece in doc["pieces"]:
        lines.append(
            f"  {piece['serial']:<20} {piece['printer']:<10} {piece['issued_at']:<28} "
            f"{piece['status']:<10} {_money(piece['price_micros'], currency)}"
        )
    per_page = 60
    with PdfPages(path) as pdf:
        for start in range(0, max(len(lines), 1), per_page):
            figure = plt.figure(figsize=(8.27, 11.69))
            figure.text(
                0.05, 0.97, "\n".join(lines[start : start + per_page]),
                family="monospace", fontsize=6.5, va="top",
            )  # fmt: skip
            pdf.savefig(figure)
            plt.close(figure)


def render_statement_report(report: StatementReport, path: str) -> str:
    """The verdict first, then every check with ✓ or ✗ and what it found."""
    if report.valid:
        head = f"VALID: {path} ({report.mode} verification)"
    else:
        head = f"INVALID: {path} failed {report.mode} verification: {report.mismatches[0]}"
    lines = [head] + [f"  {'✓' if c.passed else '✗'} {c.name}: {c.detail}" for c in report.checks]
    if report.mode == "offline" and report.valid:
        lines.append("  (offline: the anchors, counts and licence were not read from chain)")
    return "\n".join(lines) + "\n"
