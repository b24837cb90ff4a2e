"""Part evidence, certificates, canonical hashing, Merkle batches, chain anchoring, verification."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ledger.anvil import LocalAnvil
from ledger.batcher import BatchPolicy
from ledger.bundle import build_bundle
from ledger.canonical import canonical_json, design_key
from ledger.desk import LedgerDesk
from ledger.documents import certificate_document
from ledger.errors import LedgerError
from ledger.evidence import evaluate
from ledger.issuing import Issuer
from ledger.merkle import inclusion_proof, inclusion_proofs, root_hash, verify_inclusion
from ledger.service import LedgerCounts, LedgerService
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline

if TYPE_CHECKING:
    from ledger.chain import ChainClient
    from ledger.commands import (
        CommandResult,
        certificate_export,
        certificate_show,
        design_register,
        designs_dir,
        open_ledger,
        verify_bundle_file,
    )
    from ledger.exports import ExportFormat, export_certificate, revocation_status_list
    from ledger.report import certificate_report

_LOADED_ON_USE = {
    "ChainClient": "ledger.chain",
    "CommandResult": "ledger.commands",
    "certificate_export": "ledger.commands",
    "certificate_show": "ledger.commands",
    "design_register": "ledger.commands",
    "designs_dir": "ledger.commands",
    "open_ledger": "ledger.commands",
    "verify_bundle_file": "ledger.commands",
    "certificate_report": "ledger.report",
    "ExportFormat": "ledger.exports",
    "export_certificate": "ledger.exports",
    "revocation_status_list": "ledger.exports",
}
"""Names whose modules load web3 (the chain client), matplotlib (the report) or the BaSyx SDK
(exports), so that importing the ledger stays quick: each module is imported when one of its
names is first used."""

__all__ = [
    "BatchPolicy",
    "ChainClient",
    "CommandResult",
    "ExportFormat",
    "Issuer",
    "IssuerTrust",
    "LedgerCounts",
    "LedgerDesk",
    "LedgerError",
    "LedgerService",
    "LedgerStore",
    "LocalAnvil",
    "SiteKey",
    "build_bundle",
    "canonical_json",
    "certificate_document",
    "certificate_export",
    "certificate_report",
    "certificate_show",
    "design_key",
    "design_register",
    "designs_dir",
    "evaluate",
    "export_certificate",
    "inclusion_proof",
    "inclusion_proofs",
    "open_ledger",
    "revocation_status_list",
    "root_hash",
    "verify_bundle_file",
    "verify_inclusion",
    "verify_offline",
]


def __getattr__(name: str) -> object:
    """Import a name of ``_LOADED_ON_USE`` from its module when it is first asked for."""
    module = _LOADED_ON_USE.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    return getattr(import_module(module), name)
