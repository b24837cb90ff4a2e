"""The contract artefact loader and the values read from the ledger contract."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.chain.v1 import is_v1, v1_artifact
from ledger.contract import AnchorRecord, ContractArtifact, ContractEvent, LicenceState, TxOutcome
from ledger.errors import ArtifactError


def minimal(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "contractName": "TrustfloorLedger",
        "abi": [{"type": "error", "name": "ZeroValue", "inputs": []}],
        "bytecode": "0x6080",
        "deployedBytecode": "0x6080",
        "compiler": {"version": "0.8.37"},
        "source": {"sha256": "00"},
    }
    raw.update(changes)
    return raw


def test_shipped_artifact_loads_with_every_entry_point() -> None:
    artifact = ContractArtifact.load()
    assert artifact.contract_name == "TrustfloorLedger"
    functions = {e["name"] for e in artifact.entries("function")}
    assert {"anchor", "nextSequence", "predecessor", "setLicence", "licence"} <= functions
    assert {"WrongSequence", "QuotaExceeded", "NotIssuer"} <= {
        e["name"] for e in artifact.entries("error")
    }
    assert not is_v1(artifact)


def test_the_version_1_artifact_stays_shipped_as_deployed() -> None:
    artifact = v1_artifact()
    assert is_v1(artifact)
    assert {"anchoredAt", "revocationOf"} <= {e["name"] for e in artifact.entries("function")}
    source = Path(__file__).resolve().parents[3] / "contracts" / "v1" / "TrustfloorLedger.sol"
    artifact.check_source(source.read_bytes())
    assert hashlib.sha256(artifact.deployed_bytecode.encode()).hexdigest() == V1_CODE_SHA256


V1_CODE_SHA256 = "fa69f69ffd822333c0b010dc494addc462572bde1967842aa14eb37539c34573"
"""The version 1 ledger's runtime code, pinned: ledgers deployed with it are matched by it."""


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ([], "lacks one of"),
        ({k: v for k, v in minimal().items() if k != "abi"}, "lacks one of"),
        (minimal(bytecode="6080"), "bytecode is not 0x-prefixed hex"),
        (minimal(deployedBytecode="0xzz"), "deployedBytecode is not 0x-prefixed hex"),
    ],
)
def test_malformed_artifacts_are_refused(raw: object, reason: str) -> None:
    with pytest.raises(ArtifactError, match=reason):
        ContractArtifact.from_json(raw)


def test_unreadable_artifact_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read"):
        ContractArtifact.load(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ArtifactError, match="cannot read"):
        ContractArtifact.load(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(minimal()))
    assert ContractArtifact.load(good).bytecode == "0x6080"


def test_a_changed_source_is_detected() -> None:
    artifact = ContractArtifact.from_json(minimal())
    with pytest.raises(ArtifactError, match="source changed"):
        artifact.check_source(b"contract Other {}")


def test_records_explain_themselves() -> None:
    record = AnchorRecord(root=b"\x01" * 32, size=3, issuer="0xabc", block_number=9, timestamp=0)
    assert record.anchored_at.isoformat() == "1970-01-01T00:00:00+00:00"
    assert LicenceState(quota=5, used=7).remaining == 0
    assert LicenceState(quota=5, used=2).remaining == 3
    outcome = TxOutcome(
        tx_hash=b"t",
        block_number=1,
        block_hash=b"b",
        gas_used=21000,
        events=(ContractEvent("A", {}), ContractEvent("B", {"x": 1}), ContractEvent("A", {})),
    )
    assert [e.name for e in outcome.events_named("A")] == ["A", "A"]
