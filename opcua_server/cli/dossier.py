"""`trustfloor dossier ...`: the site's side of sealed dossiers (its public key, checking one)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

from ledger import (
    CommandResult,
    check_sealed_package,
    read_package_file,
    site_key_for_dossiers,
)
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, emit, site_settings_of


def cmd_dossier_public_key(args: argparse.Namespace) -> int:
    key = site_key_for_dossiers(site_settings_of(args), os.environ)
    return emit(CommandResult(ExitCode.OK, key + "\n"))


def cmd_dossier_check(args: argparse.Namespace) -> int:
    settings = site_settings_of(args)
    sealed = read_package_file(args.file)
    lines = asyncio.run(check_sealed_package(settings, sealed, os.environ))
    return emit(CommandResult(ExitCode.OK, "\n".join(lines) + "\n"))


def add_dossier_commands(sub: Subcommands) -> None:
    """``dossier public-key`` and ``dossier check FILE``."""
    dossier = sub.add_parser("dossier", help="sealed design dossiers, on the site's side")
    commands = dossier.add_subparsers(dest="dossier_command", required=True)
    public = commands.add_parser(
        "public-key", help="the site's public key, for the OEM to seal dossiers for this site"
    )
    add_site_options(public)
    public.set_defaults(func=cmd_dossier_public_key)
    check = commands.add_parser(
        "check", help="check a sealed dossier against the chain and open it (nothing kept)"
    )
    check.add_argument("file", type=Path, help="<sha256>.sealed.json")
    add_site_options(check)
    check.set_defaults(func=cmd_dossier_check)
