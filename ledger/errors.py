"""Errors of the ledger: its sub-root and what fails in encoding, proofs and the chain."""

from __future__ import annotations

from models.errors import TrustfloorError


class LedgerError(TrustfloorError):
    """Sub-root of every error the ledger package raises."""


class CanonicalEncodingError(LedgerError):
    """A value has no RFC 8785 canonical JSON form, or a leaf is not in the frozen format."""

    advice = (
        "Certificates hold only JSON values: strings, booleans, null, integers within ±(2^53-1), "
        "finite floats, arrays and objects with string keys."
    )


class TreeRangeError(LedgerError, ValueError):
    """An index or tree size outside what a Merkle operation accepts (a caller's bug)."""


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof is malformed or leads to another root."""

    advice = (
        "The certificate, its proof or the root was altered, or they belong to different "
        "batches: fetch the proof bundle again from the issuing site."
    )


class ArtifactError(LedgerError):
    """The compiled contract artefact is missing, unreadable or out of date with its source."""

    advice = (
        "Regenerate it with `node contracts/compile.mjs` and commit ledger/contract_artifact.json."
    )


class ChainError(LedgerError):
    """The chain could not be reached, answered unexpectedly, or a transaction failed."""

    advice = "Check chain.url and chain.chain_id in the configuration and that the node is running."


class LocalChainError(ChainError):
    """The local development chain (anvil) could not be started or stopped."""

    advice = "Run `npm ci` so that node_modules/@foundry-rs/anvil is installed, or set chain.url."


class ContractError(ChainError):
    """The ledger contract refused a call with one of its custom errors.

    ``name`` is the Solidity error name (for example ``AlreadyAnchored``) and ``arguments`` its
    decoded arguments, so callers can branch on the reason without parsing the message.
    """

    def __init__(
        self, name: str, args: tuple[object, ...] = (), *, message: str = "", advice: str = ""
    ) -> None:
        self.name = name
        self.arguments = args
        text = message or f"contract refused the call: {name}{_format_args(args)}"
        super().__init__(text, advice=advice or _ADVICE.get(name, ""))


def _format_args(args: tuple[object, ...]) -> str:
    def show(value: object) -> str:
        return "0x" + value.hex() if isinstance(value, bytes) else str(value)

    return "(" + ", ".join(show(a) for a in args) + ")"


_ADVICE: dict[str, str] = {
    "NotAdmin": "Only the consortium admin account may do this: use the admin's key.",
    "NotIssuer": "Ask the consortium admin to add this site's address to the issuer allow-list.",
    "NotOem": "Ask the consortium admin to register this account as an OEM.",
    "NotDesignOem": "Only the OEM that registered the design may manage its licences.",
    "AlreadyAnchored": "This root is already on chain: treat the batch as anchored (write-once).",
    "DesignAlreadyRegistered": "A registered dossier never changes: register a new revision.",
    "UnknownDesign": "Register the design (id + revision) on chain before licensing or printing.",
    "QuotaExceeded": "The licence has no pieces left: ask the OEM to raise the quota.",
    "LengthMismatch": "Pass one piece count per design key.",
    "PiecesExceedBatch": "A batch cannot count more pieces than it holds certificates.",
    "EmptyBatch": "Anchor only batches that hold at least one certificate.",
    "ZeroValue": "Roots, design keys and dossier hashes must not be all zero bytes.",
    "ZeroAddress": "Pass a real account address, not the zero address.",
}
