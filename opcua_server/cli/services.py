"""The consortium's service commands alone (chain serve, witness serve): quick to start."""

# `python -m opcua_server.cli.services chain serve ...` runs the same commands as `trustfloor
# chain serve ...` and `trustfloor witness serve ...` without loading the site's packages
# (asyncua, pandas, scikit-learn): the demo starts its consortium's processes this way.

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

from opcua_server.cli.chain import add_chain_commands
from opcua_server.cli.running import run_command
from opcua_server.cli.witness import add_witness_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trustfloor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_chain_commands(sub)
    add_witness_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one service command; a known error is printed with its advice."""
    return run_command(build_parser().parse_args(argv))


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
