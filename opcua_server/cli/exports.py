"""``certificate export --format`` and ``certificate status-list``: exports written whole."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ledger import STATUS_PURPOSES, ExportFormat, export_certificate, status_list
from models import ExitCode
from opcua_server.cli.options import add_site_options, site_settings_of


def add_export_arguments(export: argparse.ArgumentParser) -> None:
    """The format and destination of ``certificate export``."""
    export.add_argument(
        "--format",
        choices=[f.value for f in ExportFormat],
        default=ExportFormat.BUNDLE.value,
        help="bundle: the proof bundle (JSON, default); aasx: the part's Asset Administration "
        "Shell package; vc: a W3C Verifiable Credential (compact JWS, application/vc+jwt); "
        "en10204: an EN 10204 3.1 inspection document (JSON)",
    )
    export.add_argument("--out", type=Path, help="write to this file instead of stdout")
    export.set_defaults(func=cmd_certificate_export)


def add_status_list_command(
    certificate: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``certificate status-list``: the signed revocation status list credentials point to."""
    status = certificate.add_parser(
        "status-list",
        help="the site's signed revocation or suspension status list (W3C Bitstring Status "
        "List, compact JWS)",
    )
    status.add_argument(
        "--purpose",
        choices=STATUS_PURPOSES,
        default=STATUS_PURPOSES[0],
        help="revocation: revoked for good (default); suspension: held by a recall now",
    )
    status.add_argument("--out", type=Path, help="write to this file instead of stdout")
    add_site_options(status)
    status.set_defaults(func=cmd_status_list)


def cmd_certificate_export(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    content = export_certificate(settings, args.serial, ExportFormat(args.format))
    return write_output(content, args.out, f"part {args.serial} as {args.format}")


def cmd_status_list(args: argparse.Namespace) -> int:
    content = status_list(site_settings_of(args), args.purpose)
    return write_output(content, args.out, f"{args.purpose} status list")


def write_output(content: bytes, out: Path | None, what: str) -> int:
    """``content`` on stdout, or into ``out`` through a temporary file (never half written)."""
    if out is None:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return ExitCode.OK
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, out)
    print(f"wrote {out}: {what}, {len(content)} bytes", file=sys.stderr)
    return ExitCode.OK
