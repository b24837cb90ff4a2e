"""Ledger errors: one sub-root under TrustfloorError, contract errors that carry their reason."""

from __future__ import annotations

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
from models.errors import TrustfloorError


def test_every_ledger_error_derives_from_the_sub_root() -> None:
    for error in (
        ArtifactError,
        CanonicalEncodingError,
        ChainError,
        ContractError,
        LocalChainError,
        ProofError,
        TreeRangeError,
    ):
        assert issubclass(error, LedgerError)
    assert issubclass(LedgerError, TrustfloorError)
    assert issubclass(ContractError, ChainError)
    assert issubclass(TreeRangeError, ValueError)


def test_contract_error_names_the_reason_and_advises() -> None:
    error = ContractError("QuotaExceeded", (b"\xab" * 2, "0xF39F", 5, 5, 1))
    assert error.name == "QuotaExceeded"
    assert error.arguments == (b"\xab\xab", "0xF39F", 5, 5, 1)
    assert str(error) == "contract refused the call: QuotaExceeded(0xabab, 0xF39F, 5, 5, 1)"
    assert "raise the quota" in error.diagnostics()


def test_contract_error_without_known_advice_falls_back_to_the_chain_advice() -> None:
    error = ContractError("Panic", ("overflow",))
    assert error.advice == ChainError.advice
    assert str(error) == "contract refused the call: Panic(overflow)"


def test_proof_error_advises_fetching_the_bundle_again() -> None:
    assert "proof bundle" in ProofError("leads to another root").diagnostics()
