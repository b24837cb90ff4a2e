"""Errors of the ledger: its sub-root and what fails in encoding, proofs and the chain."""

from __future__ import annotations

from models import InvalidRequestError, InvalidStateError, NotFoundError, TrustfloorError


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


class ChainNodeUnreachableError(ChainError):
    """The chain node does not answer at its URL or socket (nothing there, or a network fault)."""


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
    "WrongSequence": "Another anchor of this site took that sequence number: look for the "
    "batch's anchor on chain, or anchor it again with the site's next sequence number.",
    "DesignAlreadyRegistered": "A registered dossier never changes: register a new revision.",
    "UnknownDesign": "Register the design (id + revision) on chain before licensing or printing.",
    "QuotaExceeded": "The licence has no pieces left: ask the OEM to raise the quota.",
    "LengthMismatch": "Pass one piece count per design key.",
    "PiecesExceedBatch": "A batch cannot count more pieces than it holds certificates.",
    "EmptyBatch": "Anchor only batches that hold at least one certificate.",
    "BatchTooLarge": "Seal batches of fewer than 2^48 leaves (ledger.batch_max_size).",
    "NotAnchoredBy": "Anchor the certificate's and the revocation's batches from this site first.",
    "AlreadyRevoked": "The certificate is already marked revoked on chain: nothing to do.",
    "ZeroValue": "Roots, design keys and dossier hashes must not be all zero bytes.",
    "ZeroAddress": "Pass a real account address, not the zero address.",
}


class SigningError(LedgerError):
    """A site key or a signature is malformed, or a signature recovers no key."""

    advice = (
        "Set the site key variable (chain.key_env) to the site's 32-byte secp256k1 key in hex; "
        "a bad signature in a bundle means it was altered: fetch it again from the issuing site."
    )


class DesignError(LedgerError):
    """A design folder cannot be read as a dossier: manifest, files or process window."""

    advice = (
        "A design folder holds design.toml (or design.json) naming id, revision, every file "
        "with its role (model, recipe, document) and the process window: fix what is named."
    )


class JobRefusedError(LedgerError):
    """The printer agent refused to start a job; the refusal is recorded with its reason."""


class DesignNotRegisteredError(JobRefusedError):
    """The job's design revision is not registered on chain."""

    advice = "Ask the OEM to register this design revision (`trustfloor oem design register DIR`)."


class DossierMismatchError(JobRefusedError):
    """The local dossier differs from the one registered on chain: it must not be printed."""

    advice = (
        "Do not print: restore the design folder from the OEM's released dossier (the files "
        "named differ), or ask the OEM to register a new revision."
    )


class QuotaExhaustedError(JobRefusedError):
    """The licence has no piece left once the pieces printed but not yet anchored are counted."""

    advice = "Ask the OEM to raise this site's licence quota for the design."


class LicenceNotValidError(JobRefusedError):
    """The site holds no licence of the design now: never granted, revoked, not yet valid or
    expired."""

    advice = (
        "Ask the design's OEM for a licence valid now (`trustfloor oem licence grant DESIGN "
        "SITE ...`)."
    )


class PartyError(LedgerError):
    """A party's command cannot do what was asked: its key, its records or the chain's roles."""


class LicenceTermsError(PartyError):
    """A licence's terms as written cannot be granted (dates, price, quota)."""

    advice = (
        "Write dates as 2026-12-31 (or ISO 8601 times), the price as AMOUNT CURRENCY "
        "(12.50 EUR), the pieces as a whole number."
    )


class SealedDossierError(JobRefusedError):
    """A sealed dossier was refused: for another site, not the OEM's, tampered, or no valid
    licence to open it."""

    advice = "Do not print: ask the design's OEM for a package sealed for this site's key."


class StatementError(LedgerError):
    """A billing statement cannot be built, read or checked as asked."""


class EvidenceError(LedgerError):
    """Process samples or a job's end cannot be recorded as given."""

    advice = "Record samples only for a running job, with finite values and aware timestamps."


class LedgerStateError(LedgerError, InvalidStateError):
    """A record is not in the state the operation needs (a job not finished, already issued)."""

    advice = "Check the part serial and its job's state with `trustfloor certificate show SERIAL`."


class UnknownRecordError(LedgerStateError, NotFoundError):
    """No job, part or certificate has the serial or id asked for."""


class InvalidInspectionError(LedgerError, InvalidRequestError):
    """Inspection results are not in the form the ledger records."""

    advice = (
        'Send {"check": "cmm", "result": "pass" | "fail", "value": 0.02, "unit": "mm", '
        '"note": "..."} or {"results": [...]} of those.'
    )


class StoreError(LedgerError):
    """The ledger's SQLite store failed."""

    advice = "Check that the data directory is writable and not full; acknowledged data is kept."


class BundleError(LedgerError):
    """A proof bundle file cannot be read as a trustfloor bundle."""

    advice = "Export the bundle again with `trustfloor certificate export SERIAL > bundle.json`."


class StoredRecordAlteredError(LedgerError, InvalidStateError):
    """A record read back from the ledger store does not re-derive: its serial, leaf hash,
    signature, issuer or inclusion under its batch root differs from what was issued."""

    advice = (
        "The ledger store was changed outside trustfloor: do not hand out its records. Restore "
        "it from a backup and verify exported bundles online (`trustfloor verify bundle.json`): "
        "the roots anchored on chain are authoritative."
    )


class TrustedIssuersError(LedgerError, InvalidRequestError):
    """A list of trusted issuer addresses (``--issuers FILE``, ledger.trusted_issuers) is not
    one."""

    advice = (
        "List each trusted issuer as 0x and 40 hex digits (EIP-55 mixed case or all one case): "
        "one per line, # starting a comment, or a JSON array of them, or a JSON object "
        '{"issuers": [...]}.'
    )


class ExportError(LedgerError):
    """A certificate could not be exported in the format asked (AASX, VC, EN 10204), or an
    exported credential does not verify."""
