"""Part evidence, certificates, canonical hashing, Merkle batches, chain anchoring, verification."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.agent import dossier_refusal, quota_refusal
from ledger.anchoring import AnchoringReport
from ledger.anvil import LocalAnvil, find_anvil
from ledger.batcher import BatchPolicy
from ledger.bundle import build_bundle, bundle_json, read_bundle
from ledger.canonical import (
    CERT_LEAF_TAG_V1,
    INSPECTION_LEAF_TAG_V1,
    REVOCATION_LEAF_TAG_V1,
    JsonObject,
    JsonValue,
    canonical_digest,
    canonical_json,
    certificate_leaf,
    certificate_leaf_hash,
    design_key,
    parse_certificate_leaf,
    parse_record_leaf,
    record_leaf,
)
from ledger.contract import AnchorRecord, ContractArtifact, ContractEvent, LicenceState, TxOutcome
from ledger.designs import dossier_document, dossier_hash, load_design
from ledger.documents import certificate_document, inspection_document, revocation_document
from ledger.errors import (
    ArtifactError,
    BundleError,
    CanonicalEncodingError,
    ChainError,
    ContractError,
    DesignError,
    DesignNotRegisteredError,
    DossierMismatchError,
    EvidenceError,
    JobRefusedError,
    LedgerError,
    LedgerStateError,
    LocalChainError,
    ProofError,
    QuotaExhaustedError,
    SigningError,
    StoredRecordAlteredError,
    StoreError,
    TreeRangeError,
    TrustedIssuersError,
)
from ledger.evidence import evaluate, samples_digest
from ledger.issuing import Issuer, SignedRecord, build_certificate, sign_record
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
from ledger.service import DesignRegistration, InspectionOutcome, LedgerService
from ledger.signing import SiteKey, recover_address
from ledger.store import LedgerStore
from ledger.stored import StoredPart, checked_part
from ledger.trust import ANY_ISSUER, NO_ISSUER_PINNED, IssuerTrust, parse_issuers
from ledger.verify import LedgerReader, issuer_untrusted, verify_offline, verify_online

if TYPE_CHECKING:
    from ledger.chain import ChainClient

__all__ = [
    "ANY_ISSUER",
    "CERT_LEAF_TAG_V1",
    "EMPTY_ROOT",
    "INSPECTION_LEAF_TAG_V1",
    "NO_ISSUER_PINNED",
    "REVOCATION_LEAF_TAG_V1",
    "AnchorRecord",
    "AnchoringReport",
    "ArtifactError",
    "BatchPolicy",
    "BundleError",
    "CanonicalEncodingError",
    "ChainClient",
    "ChainError",
    "ContractArtifact",
    "ContractError",
    "ContractEvent",
    "DesignError",
    "DesignNotRegisteredError",
    "DesignRegistration",
    "DossierMismatchError",
    "EvidenceError",
    "InspectionOutcome",
    "Issuer",
    "IssuerTrust",
    "JobRefusedError",
    "JsonObject",
    "JsonValue",
    "LeafRange",
    "LedgerError",
    "LedgerReader",
    "LedgerService",
    "LedgerStateError",
    "LedgerStore",
    "LicenceState",
    "LocalAnvil",
    "LocalChainError",
    "ProofError",
    "QuotaExhaustedError",
    "SignedRecord",
    "SigningError",
    "SiteKey",
    "StoreError",
    "StoredPart",
    "StoredRecordAlteredError",
    "TreeRangeError",
    "TrustedIssuersError",
    "TxOutcome",
    "build_bundle",
    "build_certificate",
    "bundle_json",
    "canonical_digest",
    "canonical_json",
    "certificate_document",
    "certificate_leaf",
    "certificate_leaf_hash",
    "checked_part",
    "consistency_plan",
    "consistency_proof",
    "design_key",
    "dossier_document",
    "dossier_hash",
    "dossier_refusal",
    "evaluate",
    "find_anvil",
    "hash_children",
    "hash_leaf",
    "inclusion_plan",
    "inclusion_proof",
    "inclusion_proofs",
    "inspection_document",
    "issuer_untrusted",
    "load_design",
    "parse_certificate_leaf",
    "parse_issuers",
    "parse_record_leaf",
    "quota_refusal",
    "read_bundle",
    "record_leaf",
    "recover_address",
    "revocation_document",
    "root_from_inclusion_proof",
    "root_hash",
    "samples_digest",
    "sign_record",
    "verify_consistency",
    "verify_inclusion",
    "verify_offline",
    "verify_online",
]


def __getattr__(name: str) -> object:
    """Import ChainClient (and with it web3, slow to load) only when it is asked for."""
    if name == "ChainClient":
        from ledger.chain import ChainClient

        return ChainClient
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
