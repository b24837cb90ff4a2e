"""The compiled ledger contract artefact and the values its calls return, free of web3."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.errors import ArtifactError

ARTIFACT_NAME = "contract_artifact.json"
"""Package data file written by ``node contracts/compile.mjs``."""

_REQUIRED_KEYS = ("contractName", "abi", "bytecode", "deployedBytecode", "compiler", "source")


@dataclass(frozen=True, slots=True)
class ContractArtifact:
    """ABI and bytecode of TrustfloorLedger as compiled by contracts/compile.mjs."""

    contract_name: str
    abi: tuple[Mapping[str, Any], ...]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    source_sha256: str

    @classmethod
    def load(cls, path: Path | None = None) -> ContractArtifact:
        """Read the artefact from ``path``, or the copy shipped inside the ``ledger`` package."""
        try:
            text = (
                path.read_text("utf-8")
                if path is not None
                else resources.files("ledger").joinpath(ARTIFACT_NAME).read_text("utf-8")
            )
            raw = json.loads(text)
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"cannot read the contract artefact: {exc}") from exc
        return cls.from_json(raw)

    @classmethod
    def from_json(cls, raw: object) -> ContractArtifact:
        """Validate the decoded artefact file."""
        if not isinstance(raw, dict) or any(k not in raw for k in _REQUIRED_KEYS):
            raise ArtifactError(f"contract artefact lacks one of {', '.join(_REQUIRED_KEYS)}")
        for key in ("bytecode", "deployedBytecode"):
            if not _is_hex_code(raw[key]):
                raise ArtifactError(f"contract artefact {key} is not 0x-prefixed hex code")
        return cls(
            contract_name=str(raw["contractName"]),
            abi=tuple(raw["abi"]),
            bytecode=raw["bytecode"],
            deployed_bytecode=raw["deployedBytecode"],
            compiler_version=str(raw["compiler"].get("version", "")),
            source_sha256=str(raw["source"].get("sha256", "")),
        )

    def check_source(self, source: bytes) -> None:
        """Raise ArtifactError when ``source`` is not the Solidity the artefact was built from."""
        if hashlib.sha256(source).hexdigest() != self.source_sha256:
            raise ArtifactError("contract source changed since the artefact was compiled")

    def entries(self, kind: str) -> list[Mapping[str, Any]]:
        """The ABI entries of one kind: "function", "event", "error" or "constructor"."""
        return [e for e in self.abi if e.get("type") == kind]


def _is_hex_code(value: object) -> bool:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) < 4:
        return False
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class AnchorRecord:
    """A batch root as the contract recorded it (``anchoredAt``)."""

    root: bytes
    size: int
    issuer: str
    block_number: int
    timestamp: int

    @property
    def anchored_at(self) -> datetime:
        """The block time of the anchoring transaction, in UTC."""
        return datetime.fromtimestamp(self.timestamp, UTC)


@dataclass(frozen=True, slots=True)
class LicenceState:
    """A licensee's quota of one design and the pieces already counted against it."""

    quota: int
    used: int

    @property
    def remaining(self) -> int:
        """Pieces that may still be anchored; 0 when a lowered quota sits below ``used``."""
        return max(self.quota - self.used, 0)


@dataclass(frozen=True, slots=True)
class ContractEvent:
    """One decoded event of the ledger contract: its name and arguments.

    bytes32 arguments are ``bytes``, addresses checksummed ``str``, integers ``int``.
    """

    name: str
    args: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """A confirmed, successful transaction to the ledger contract."""

    tx_hash: bytes
    block_number: int
    block_hash: bytes
    gas_used: int
    events: tuple[ContractEvent, ...] = field(default=())
    contract_address: str | None = None

    def events_named(self, name: str) -> list[ContractEvent]:
        """The events of one name, in log order."""
        return [e for e in self.events if e.name == name]
