"""The ledger's public API: other packages import only the package, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ledger
from tests.support import REPO, imported_modules

OUTSIDE_THE_LEDGER = ("models", "config", "connectors", "maintenance", "opcua_server", "bench")


def outside_modules() -> list[Path]:
    return sorted(p for folder in OUTSIDE_THE_LEDGER for p in (REPO / folder).rglob("*.py"))


def ledger_submodules_imported(path: Path) -> set[str]:
    """The ``ledger.*`` modules that ``path`` names in its imports (``from ledger.x import``)."""
    return {name for name in imported_modules(path) if name.startswith("ledger.")}


@pytest.mark.parametrize("path", outside_modules(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_other_packages_reach_the_ledger_through_the_package(path: Path) -> None:
    assert not ledger_submodules_imported(path), "import these names from `ledger`"


def test_every_public_name_resolves() -> None:
    missing = [name for name in ledger.__all__ if not hasattr(ledger, name)]
    assert missing == []


def test_importing_the_ledger_loads_neither_web3_nor_matplotlib() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ledger; print(sorted({'web3', 'matplotlib'} & set(sys.modules)))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    assert probe.stdout.strip() == "[]"
