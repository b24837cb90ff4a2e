"""``trustfloor parts [--json]``: every part the site printed, with its lot, verdict and status."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from ledger import PartEntry, list_parts
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, site_settings_of

COLUMNS = ("serial", "order", "printer", "material_lot", "source", "verdict", "certificate")


def add_parts_commands(sub: Subcommands) -> None:
    """``parts``: the parts list of the site's ledger."""
    parts = sub.add_parser(
        "parts", help="every printed part: order, printer, material lot, verdict, certificate"
    )
    parts.add_argument("--json", action="store_true", help='{"parts": [...]} sorted by serial')
    add_site_options(parts)
    parts.set_defaults(func=cmd_parts)


def cmd_parts(args: argparse.Namespace) -> int:
    entries = list_parts(site_settings_of(args))
    if args.json:
        print(json.dumps({"parts": [entry.document() for entry in entries]}, indent=2))
    else:
        print(render_parts(entries))
    return ExitCode.OK


def render_parts(entries: Sequence[PartEntry]) -> str:
    """The parts list as a table, one part a line, refusal reasons below their part."""
    if not entries:
        return "no parts printed yet"
    rows = [COLUMNS, *(_cells(entry) for entry in entries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for row, entry in zip(rows, [None, *entries], strict=True):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if entry is not None and entry.reason:
            lines.append(f"    refused: {entry.reason}")
    return "\n".join(lines)


def _cells(entry: PartEntry) -> tuple[str, ...]:
    return (
        entry.serial,
        entry.order,
        entry.printer,
        entry.material_lot,
        entry.material_lot_source.value,
        "-" if entry.verdict is None else entry.verdict.value,
        entry.certificate_status.value,
    )
