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
    """A batch root's anchor as the chain records it: the ``Anchored`` event of its
    transaction (version 2), or the ``anchoredAt`` record (version 1)."""

    root: bytes
    size: int
    issuer: str
    block_number: int
    timestamp: int

    @property
    def anchored_at(self) -> datetime:
        """The block time of the anchoring transaction, in UTC."""
        return datetime.fromtimestamp(self.timestamp, UTC)


OPEN_END = 2**40 - 1
"""``validUntil`` of a licence granted with no end (the largest uint40 timestamp)."""


@dataclass(frozen=True, slots=True)
class LicenceState:
    """A licensee's licence of one design: its terms and the pieces counted against it.

    Pieces are counted from ``valid_from`` until before ``valid_until`` (Unix seconds), up to
    ``quota`` plus ``overdraft`` (the pieces past the quota are overage). ``valid_until`` 0:
    never granted.
    """

    quota: int
    used: int
    overdraft: int = 0
    valid_from: int = 0
    valid_until: int = OPEN_END
    revoked: bool = False

    @property
    def granted(self) -> bool:
        """Whether the design's OEM ever granted this licence."""
        return self.valid_until != 0

    @property
    def remaining(self) -> int:
        """Pieces that may still be anchored within the quota; 0 when a lowered quota sits
        below ``used``."""
        return max(self.quota - self.used, 0)

    @property
    def overage(self) -> int:
        """Pieces counted past the quota (within the overdraft)."""
        return max(self.used - self.quota, 0)

    @property
    def room(self) -> int:
        """Pieces that may still be anchored, overdraft included."""
        return max(self.quota + self.overdraft - self.used, 0)

    def refusal(self, at: int) -> str | None:
        """Why no piece may be counted at Unix time ``at`` whatever the count, or None."""
        if not self.granted:
            return "no licence was granted"
        if self.revoked:
            return "the licence is revoked"
        if at < self.valid_from:
            return f"the licence is valid only from {_iso(self.valid_from)}"
        if at >= self.valid_until:
            return f"the licence expired at {_iso(self.valid_until)}"
        return None


@dataclass(frozen=True, slots=True)
class LicenceGrant:
    """One grant or change of a licence, as its LicenceSet event recorded it."""

    design_key: bytes
    licensee: str
    terms: LicenceState
    """The terms set (``used`` 0: the event does not carry the count)."""
    price_micros: int
    """Price per piece in millionths of ``currency``; 0 when none was set."""
    currency: str
    block_number: int
    tx_hash: bytes


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


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
