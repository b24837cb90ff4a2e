"""Part evidence, certificates, canonical hashing, Merkle batches, chain anchoring, verification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.anvil import LocalAnvil, find_anvil
from ledger.canonical import (
    CERT_LEAF_TAG_V1,
    JsonObject,
    JsonValue,
    canonical_digest,
    canonical_json,
    certificate_leaf,
    certificate_leaf_hash,
    design_key,
    parse_certificate_leaf,
)
from ledger.contract import AnchorRecord, ContractArtifact, ContractEvent, LicenceState, TxOutcome
from ledger.errors import (
    ArtifactError,
    CanonicalEncodingError,
    ChainError,
    ContractError,
    LedgerError,
    LocalChainError,
    ProofError,
    TreeRangeError,
)
from ledger.merkle import (
    EMPTY_ROOT,
    LeafRange,
    consistency_plan,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_plan,
    inclusion_proof,
    inclusion_proofs,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

if TYPE_CHECKING:
    from ledger.chain import ChainClient

__all__ = [
    "CERT_LEAF_TAG_V1",
    "EMPTY_ROOT",
    "AnchorRecord",
    "ArtifactError",
    "CanonicalEncodingError",
    "ChainClient",
    "ChainError",
    "ContractArtifact",
    "ContractError",
    "ContractEvent",
    "JsonObject",
    "JsonValue",
    "LeafRange",
    "LedgerError",
    "LicenceState",
    "LocalAnvil",
    "LocalChainError",
    "ProofError",
    "TreeRangeError",
    "TxOutcome",
    "canonical_digest",
    "canonical_json",
    "certificate_leaf",
    "certificate_leaf_hash",
    "consistency_plan",
    "consistency_proof",
    "design_key",
    "find_anvil",
    "hash_children",
    "hash_leaf",
    "inclusion_plan",
    "inclusion_proof",
    "inclusion_proofs",
    "parse_certificate_leaf",
    "root_from_inclusion_proof",
    "root_hash",
    "verify_consistency",
    "verify_inclusion",
]


def __getattr__(name: str) -> object:
    """Import ChainClient (and with it web3, slow to load) only when it is asked for."""
    if name == "ChainClient":
        from ledger.chain import ChainClient

        return ChainClient
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
