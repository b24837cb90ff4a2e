"""``trustfloor printers``: the site's printers as last seen, and ``printers probe URL``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from config import COMPANION_PROFILE, Settings, companion_mapping
from connectors import PrinterLinkError, probe_printer, render_probe
from models import ExitCode, MessageSecurityMode, OpcUaEndpoint, SecurityPolicy, SystemClock
from opcua_server.cli.options import Subcommands, add_site_options, site_settings_of
from opcua_server.runtime.printer_snapshot import read_snapshot

SECURITY_CHOICES = ("None", "Sign", "SignAndEncrypt")
PROBE_PASSWORD_ENV = "TRUSTFLOOR_PRINTER_PASSWORD"
COLUMNS = ("id", "state", "job", "layer", "layers_planned", "material_lot", "security_mode")


def add_printers_commands(sub: Subcommands) -> None:
    """``printers`` (the last snapshot of the running site) and ``printers probe URL``."""
    printers = sub.add_parser(
        "printers", help="the site's printers: state, job, layer, lot, link, health"
    )
    printers.add_argument("--json", action="store_true", help='{"printers": [...]} as JSON')
    add_site_options(printers)
    printers.set_defaults(func=cmd_printers)
    actions = printers.add_subparsers(dest="action")
    probe = actions.add_parser(
        "probe", help="connect to a printer, check a mapping, suggest one for what is missing"
    )
    probe.add_argument("url", help="opc.tcp://host:port/path of the printer's OPC UA server")
    probe.add_argument("--user", help="OPC UA user (its password in --password-env)")
    probe.add_argument(
        "--password-env",
        default=PROBE_PASSWORD_ENV,
        help=f"environment variable with the user's password (default {PROBE_PASSWORD_ENV})",
    )
    probe.add_argument(
        "--security",
        choices=SECURITY_CHOICES,
        default="SignAndEncrypt",
        help="message security mode (default SignAndEncrypt)",
    )
    probe.add_argument(
        "--policy",
        choices=[p.value for p in SecurityPolicy if p is not SecurityPolicy.NONE],
        default=SecurityPolicy.BASIC256SHA256.value,
        help="security policy with Sign or SignAndEncrypt (default Basic256Sha256)",
    )
    probe.add_argument(
        "--profile", default=COMPANION_PROFILE, help="mapping profile to check (from --config)"
    )
    probe.add_argument("--printer-id", default="", help="what {printer} stands for in the root")
    add_site_options(probe)
    probe.set_defaults(func=cmd_probe)


def cmd_printers(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    snapshot = read_snapshot(Path(settings.data_dir), SystemClock().now())
    if args.json:
        sys.stdout.write(json.dumps(snapshot, indent=2) + "\n")
    else:
        sys.stdout.write(render_table(snapshot))
    return ExitCode.OK


def render_table(snapshot: dict[str, Any]) -> str:
    """The snapshot as a table, its age first (marked stale when no site wrote it lately)."""
    age = f"snapshot {snapshot['written_at']} ({snapshot['age_s']} s old)"
    lines = [age + (" STALE: no running site wrote it lately" if snapshot["stale"] else "")]
    rows = [[str(row.get(c, "")) for c in COLUMNS] for row in snapshot["printers"]]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    lines.append("  ".join(c.upper().ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    for row, printer in zip(rows, snapshot["printers"], strict=True):
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
        alarms = printer.get("health", {}).get("alarms") or []
        reason = printer.get("health", {}).get("reason") or ""
        if alarms or reason:
            lines.append(f"  health: alarms {alarms or 'none'}; {reason}".rstrip("; "))
    return "\n".join(lines) + "\n"


def cmd_probe(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    mapping = settings.printer_links.profiles.get(args.profile)
    if mapping is None and args.profile != COMPANION_PROFILE:
        raise PrinterLinkError(
            f"no mapping profile {args.profile!r} in the config",
            advice=f"define [printer_links.profiles.{args.profile}] or use {COMPANION_PROFILE}",
        )
    endpoint = probe_endpoint(args)
    password = os.environ.get(args.password_env) if args.user else None
    report = asyncio.run(
        probe_printer(
            endpoint,
            mapping or companion_mapping(),
            password=password,
            pki_dir=client_pki(settings),
            printer_id=args.printer_id,
        )
    )
    sys.stdout.write(render_probe(report, mapping or companion_mapping()))
    return ExitCode.OK if report.complete else ExitCode.FAILURE


def probe_endpoint(args: argparse.Namespace) -> OpcUaEndpoint:
    """The endpoint the probe connects to, as the command line describes it."""
    insecure = args.security == "None"
    return OpcUaEndpoint(
        url=args.url,
        security_policy=SecurityPolicy.NONE if insecure else SecurityPolicy(args.policy),
        security_mode=MessageSecurityMode(args.security),
        username=args.user,
        password_env=args.password_env if args.user else None,
        allow_insecure=insecure,
    )


def client_pki(settings: Settings) -> Path:
    """The site's OPC UA client certificate folder (the probe presents the same identity)."""
    return Path(settings.data_dir) / "pki" / "client"
