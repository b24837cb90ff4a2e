"""The committed contract artefact is exactly what compiling the committed source gives."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from ledger.contract import ContractArtifact

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "contracts" / "TrustfloorLedger.sol"
COMMITTED = REPO / "ledger" / "contract_artifact.json"


def test_artifact_was_built_from_the_current_source() -> None:
    ContractArtifact.load().check_source(SOURCE.read_bytes())


def test_artifact_pins_the_compiler_settings() -> None:
    raw = json.loads(COMMITTED.read_text())
    assert raw["compiler"]["version"].startswith("0.8.37+")
    assert raw["settings"] == {
        "evmVersion": "paris",
        "optimizer": {"enabled": True, "runs": 10000},
        "metadata": {"bytecodeHash": "none"},
    }


def test_recompiling_gives_identical_bytecode(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "Node >= 20 is a prerequisite (see DESIGN.md)"
    fresh = tmp_path / "artifact.json"
    result = subprocess.run(
        [node, str(REPO / "contracts" / "compile.mjs"), str(fresh)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rebuilt, committed = json.loads(fresh.read_text()), json.loads(COMMITTED.read_text())
    assert rebuilt["bytecode"] == committed["bytecode"]
    assert rebuilt["deployedBytecode"] == committed["deployedBytecode"]
    assert rebuilt == committed, "regenerate with `node contracts/compile.mjs` and commit"
