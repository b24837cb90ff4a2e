"""`trustfloor consortium ...`: the consortium admin's commands (allow-listing the parties)."""

from __future__ import annotations

import argparse
import asyncio
import os

from ledger import CommandResult, allow_parties
from models import ExitCode
from opcua_server.cli.options import Subcommands, add_site_options, emit, site_settings_of


def cmd_consortium_allow(args: argparse.Namespace, *, remove: bool = False) -> int:
    if not args.oem and not args.site:
        return emit(CommandResult(ExitCode.FAILURE, "name at least one --oem or --site\n"))
    settings = site_settings_of(args)
    lines = asyncio.run(
        allow_parties(settings, os.environ, oems=args.oem, sites=args.site, remove=remove)
    )
    return emit(CommandResult(ExitCode.OK, "\n".join(lines) + "\n"))


def cmd_consortium_remove(args: argparse.Namespace) -> int:
    return cmd_consortium_allow(args, remove=True)


def add_consortium_commands(sub: Subcommands) -> None:
    """``consortium allow`` and ``consortium remove`` (--oem ADDR, --site ADDR, repeatable)."""
    consortium = sub.add_parser("consortium", help="the consortium admin's commands")
    commands = consortium.add_subparsers(dest="consortium_command", required=True)
    for name, func, what in (
        ("allow", cmd_consortium_allow, "allow-list OEMs and printing sites"),
        ("remove", cmd_consortium_remove, "take OEMs and printing sites off the allow-lists"),
    ):
        command = commands.add_parser(name, help=what)
        command.add_argument("--oem", action="append", default=[], metavar="ADDRESS")
        command.add_argument("--site", action="append", default=[], metavar="ADDRESS")
        add_site_options(command)
        command.set_defaults(func=func)
