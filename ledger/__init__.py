"""Part evidence, certificates, canonical hashing, Merkle batches, chain anchoring, verification."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ledger.anvil import LocalAnvil
from ledger.batcher import BatchPolicy
from ledger.bundle import build_bundle
from ledger.canonical import canonical_json, design_key
from ledger.childprocess import child_setup
from ledger.desk import LedgerDesk
from ledger.documents import certificate_document
from ledger.errors import LedgerError
from ledger.evidence import evaluate
from ledger.issuing import Issuer
from ledger.merkle import inclusion_proof, inclusion_proofs, root_hash, verify_inclusion
from ledger.recall import TraceCriteria, TracedPart, traced_parts
from ledger.service import LedgerCounts, LedgerService
from ledger.signing import SiteKey
from ledger.sitelog import site_log_signer
from ledger.store import LedgerStore
from ledger.transparency import (
    COSIGNATURE_V1,
    Verifier,
    Witness,
    WitnessAnswer,
    WitnessState,
    load_or_create_signer,
)
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from ledger.verify_many import verify_offline_many

if TYPE_CHECKING:
    from ledger.anchorheaders import PinnedValidators, pinned_validators
    from ledger.billing import (
        STATEMENTS_DIR,
        accept_statement,
        issue_statements,
        render_issued,
        verify_statement_file,
    )
    from ledger.chain import ChainClient
    from ledger.chain.v1 import v1_artifact
    from ledger.chainservice import ADMIN_KEY_FILE, Admission, ChainServiceInfo, consortium_chain
    from ledger.commands import (
        CommandResult,
        certificate_export,
        certificate_show,
        design_register,
        designs_dir,
        open_ledger,
        verify_bundle_file,
    )
    from ledger.exports import STATUS_PURPOSES, ExportFormat, export_certificate, status_list
    from ledger.logverify import verify_bundle_files, witness_policy
    from ledger.parties import (
        LicenceTerms,
        allow_parties,
        check_sealed_package,
        find_design,
        grant_licence,
        init_oem,
        licence_period,
        licence_standing,
        oem_address,
        oem_dir,
        oem_usage,
        parse_price,
        read_package_file,
        recorded_admin,
        register_oem_design,
        render_usage,
        revoke_licence,
        seal_for_site,
        site_key_for_dossiers,
    )
    from ledger.partlist import PartEntry, list_parts
    from ledger.report import certificate_report
    from ledger.sitechain import record_consortium, site_key
    from ledger.witnessing import SiteLog, log_status, site_log_of

_LOADED_ON_USE = {
    "ChainClient": "ledger.chain",
    "v1_artifact": "ledger.chain.v1",
    "PinnedValidators": "ledger.anchorheaders",
    "pinned_validators": "ledger.anchorheaders",
    "Admission": "ledger.chainservice",
    "ChainServiceInfo": "ledger.chainservice",
    "consortium_chain": "ledger.chainservice",
    "site_key": "ledger.sitechain",
    "record_consortium": "ledger.sitechain",
    "ADMIN_KEY_FILE": "ledger.chainservice",
    "accept_statement": "ledger.billing",
    "issue_statements": "ledger.billing",
    "STATEMENTS_DIR": "ledger.billing",
    "render_issued": "ledger.billing",
    "verify_statement_file": "ledger.billing",
    "CommandResult": "ledger.commands",
    "certificate_export": "ledger.commands",
    "certificate_show": "ledger.commands",
    "design_register": "ledger.commands",
    "designs_dir": "ledger.commands",
    "open_ledger": "ledger.commands",
    "verify_bundle_file": "ledger.commands",
    "verify_bundle_files": "ledger.logverify",
    "witness_policy": "ledger.logverify",
    "site_log_of": "ledger.witnessing",
    "SiteLog": "ledger.witnessing",
    "log_status": "ledger.witnessing",
    "certificate_report": "ledger.report",
    "PartEntry": "ledger.partlist",
    "list_parts": "ledger.partlist",
    "ExportFormat": "ledger.exports",
    "export_certificate": "ledger.exports",
    "status_list": "ledger.exports",
    "STATUS_PURPOSES": "ledger.exports",
    "LicenceTerms": "ledger.parties",
    "allow_parties": "ledger.parties",
    "find_design": "ledger.parties",
    "grant_licence": "ledger.parties",
    "init_oem": "ledger.parties",
    "licence_period": "ledger.parties",
    "licence_standing": "ledger.parties",
    "oem_address": "ledger.parties",
    "oem_dir": "ledger.parties",
    "oem_usage": "ledger.parties",
    "parse_price": "ledger.parties",
    "recorded_admin": "ledger.parties",
    "register_oem_design": "ledger.parties",
    "render_usage": "ledger.parties",
    "revoke_licence": "ledger.parties",
    "check_sealed_package": "ledger.parties",
    "read_package_file": "ledger.parties",
    "seal_for_site": "ledger.parties",
    "site_key_for_dossiers": "ledger.parties",
}
"""Names whose modules load web3 (the chain client and the parties), matplotlib (the report) or
the BaSyx SDK (exports), so that importing the ledger stays quick: each module is imported when
one of its names is first used."""

__all__ = [
    "ADMIN_KEY_FILE",
    "COSIGNATURE_V1",
    "STATEMENTS_DIR",
    "STATUS_PURPOSES",
    "Admission",
    "BatchPolicy",
    "ChainClient",
    "ChainServiceInfo",
    "CommandResult",
    "ExportFormat",
    "Issuer",
    "IssuerTrust",
    "LedgerCounts",
    "LedgerDesk",
    "LedgerError",
    "LedgerService",
    "LedgerStore",
    "LicenceTerms",
    "LocalAnvil",
    "PartEntry",
    "PinnedValidators",
    "SiteKey",
    "SiteLog",
    "TraceCriteria",
    "TracedPart",
    "Verifier",
    "Witness",
    "WitnessAnswer",
    "WitnessState",
    "accept_statement",
    "allow_parties",
    "build_bundle",
    "canonical_json",
    "certificate_document",
    "certificate_export",
    "certificate_report",
    "certificate_show",
    "check_sealed_package",
    "child_setup",
    "consortium_chain",
    "design_key",
    "design_register",
    "designs_dir",
    "evaluate",
    "export_certificate",
    "find_design",
    "grant_licence",
    "inclusion_proof",
    "inclusion_proofs",
    "init_oem",
    "issue_statements",
    "licence_period",
    "licence_standing",
    "list_parts",
    "load_or_create_signer",
    "log_status",
    "oem_address",
    "oem_dir",
    "oem_usage",
    "open_ledger",
    "parse_price",
    "pinned_validators",
    "read_package_file",
    "record_consortium",
    "recorded_admin",
    "register_oem_design",
    "render_issued",
    "render_usage",
    "revoke_licence",
    "root_hash",
    "seal_for_site",
    "site_key",
    "site_key_for_dossiers",
    "site_log_of",
    "site_log_signer",
    "status_list",
    "traced_parts",
    "v1_artifact",
    "verify_bundle_file",
    "verify_bundle_files",
    "verify_inclusion",
    "verify_offline",
    "verify_offline_many",
    "verify_statement_file",
    "witness_policy",
]


def __getattr__(name: str) -> object:
    """Import a name of ``_LOADED_ON_USE`` from its module when it is first asked for."""
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    return getattr(import_module(module), name)
