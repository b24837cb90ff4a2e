"""Running one parsed command: its exit code, or an error printed with its advice."""

from __future__ import annotations

import argparse
import sys

from config import ConfigError
from models import ExitCode, TrustfloorError


def run_command(args: argparse.Namespace) -> int:
    """Call the command ``args.func``; a config problem exits 2, another known error 1."""
    try:
        code: int = args.func(args)
    except ConfigError as error:
        print(error.diagnostics(), file=sys.stderr)
        return ExitCode.CONFIG
    except TrustfloorError as error:
        print(f"error: {error.diagnostics()}", file=sys.stderr)
        return ExitCode.FAILURE
    except KeyboardInterrupt:
        return ExitCode.OK
    return code
