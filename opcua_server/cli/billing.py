"""`trustfloor billing ...`: a site's monthly statements per design, and checking one."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from ledger import issue_statements, render_issued, verify_statement_file
from opcua_server.cli.options import Subcommands, add_site_options, emit, site_settings_of


def cmd_billing_statement(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    issued = asyncio.run(
        issue_statements(settings, args.period, site=args.site, design=args.design)
    )
    output = "json" if args.json else "csv" if args.csv else "pdf" if args.pdf else "text"
    return emit(render_issued(issued, output, args.out))


def cmd_billing_verify(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    return emit(
        asyncio.run(
            verify_statement_file(settings, args.file, previous=args.previous, offline=args.offline)
        )
    )


def add_billing_commands(sub: Subcommands) -> None:
    """``billing statement --period YYYY-MM`` and ``billing verify FILE``."""
    billing = sub.add_parser("billing", help="usage and billing statements")
    commands = billing.add_subparsers(dest="billing_command", required=True)

    statement = commands.add_parser(
        "statement", help="issue (or show) this site's signed statement of a month per design"
    )
    statement.add_argument("--period", required=True, metavar="YYYY-MM")
    statement.add_argument("--site", metavar="ADDRESS", help="must be this site's address")
    statement.add_argument("--design", metavar="ID[@REVISION]", help="one design only")
    output = statement.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="the signed statement file")
    output.add_argument("--csv", action="store_true", help="one line per piece")
    output.add_argument("--pdf", action="store_true", help="a printable PDF beside the file")
    statement.add_argument("--out", type=Path, help="with --pdf: the PDF to write")
    add_site_options(statement)
    statement.set_defaults(func=cmd_billing_statement)

    verify = commands.add_parser(
        "verify", help="check a statement offline and against the chain (exit 0 valid, 3 not)"
    )
    verify.add_argument("file", type=Path)
    verify.add_argument("--previous", type=Path, metavar="FILE", help="the month before's")
    verify.add_argument("--offline", action="store_true", help="no chain: signatures, proofs, sums")
    add_site_options(verify)
    verify.set_defaults(func=cmd_billing_verify)
