"""Loading the whole application keeps the interpreter's recursion limit (py_ecc raises it)."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO

DEEP_JSON_PROBE = """
import json, sys
default = sys.getrecursionlimit()
import ledger, ledger.chain, ledger.sitechain, opcua_server.runtime.site, opcua_server.cli.main
print(default, sys.getrecursionlimit())
try:
    json.loads("[" * 100000 + "]" * 100000)
except RecursionError:
    print("RecursionError")
"""
"""Imports the application, prints the limits before and after, then parses JSON nested 100000
deep: with the limit py_ecc sets the C stack overflows and the process dies of SIGSEGV."""


def test_importing_the_application_keeps_the_default_recursion_limit() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", DEEP_JSON_PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert probe.returncode == 0, f"exit {probe.returncode}: {probe.stderr[-2000:]}"
    before, after = probe.stdout.splitlines()[0].split()
    assert after == before
    assert probe.stdout.splitlines()[1] == "RecursionError"
