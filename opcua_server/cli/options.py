"""What every site command shares: the site options, loading that site, printing a result."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from config import Settings, load_demo_settings, load_settings
from ledger import CommandResult

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
CommandGroup: TypeAlias = Callable[[Subcommands], None]
"""Adds one feature area's subcommands to the ``trustfloor`` parser."""


def add_site_options(parser: argparse.ArgumentParser) -> None:
    """The site a command works on: a config file, or the demo site's data directory."""
    parser.add_argument("--config", type=Path, help="site config (default: the demo site)")
    parser.add_argument("--data-dir", type=Path, default=Path("var"), help="demo data directory")


def site_settings_of(args: argparse.Namespace) -> Settings:
    """``--config FILE``, or the bundled demo site in ``--data-dir`` (default var)."""
    if args.config is not None:
        return load_settings(args.config, check_secrets=False)
    return load_demo_settings(args.data_dir, check_secrets=False)


def print_line(line: str) -> None:
    """Print one progress line at once (a long command's progress reaches a pipe as it comes)."""
    print(line, flush=True)


def emit(result: CommandResult) -> int:
    """Print a command's output and return its exit code."""
    sys.stdout.write(result.output)
    return result.exit_code
