"""Whether a certified part was printed under a valid licence of its design's OEM (online)."""

# The contract counts a piece only against its issuer's own licence and only within the
# licence's terms (period, quota and overdraft, not revoked), in the transaction that anchors
# the certificate's batch. So a part is licensed when that transaction's PiecesCounted events
# count its design for its issuer, and the design is registered by an OEM with the dossier the
# certificate names. A part printed without a licence could never be anchored with its piece
# counted: its certificate fails this check.

from __future__ import annotations

from typing import Protocol

from ledger.canonical import design_key
from ledger.contract import TxOutcome
from ledger.signing import same_address
from models import ProofBundle, VerificationCheck

LICENCE_CHECK = "licence"


class LicenceReader(Protocol):
    """What the licence check reads from the chain (ledger.chain.ChainClient provides it)."""

    async def transaction(self, tx_hash: bytes) -> TxOutcome | None: ...

    async def design_oem(self, design_key: bytes) -> str | None: ...

    async def dossier_hash(self, design_key: bytes) -> bytes | None: ...


async def licence_check(bundle: ProofBundle, reader: LicenceReader) -> VerificationCheck:
    """The certificate's piece counted against its issuer's licence of the design, by the
    transaction that anchored it, and the design registered by its OEM with that dossier."""
    certificate = bundle.certificate
    doc = certificate.document
    design, issuer = doc.get("design"), str(doc.get("issuer", ""))
    if not isinstance(design, dict) or certificate.anchor is None:
        return _found(False, "the certificate names no design or is not anchored")
    label = f"{design.get('id')} revision {design.get('revision')}"
    key = design_key(str(design.get("id")), str(design.get("revision")))
    oem = await reader.design_oem(key)
    if oem is None:
        return _found(False, f"design {label} is not registered on chain: no OEM licensed it")
    registered = await reader.dossier_hash(key)
    if registered is None or registered.hex() != design.get("dossier_sha256"):
        return _found(False, f"the dossier of {label} is not the one its OEM {oem} registered")
    tx = await reader.transaction(bytes.fromhex(certificate.anchor.tx_hash.removeprefix("0x")))
    counted = [
        event
        for event in (tx.events_named("PiecesCounted") if tx is not None else [])
        if event.args.get("designKey") == key
        and same_address(str(event.args.get("licensee")), issuer)
    ]
    if not counted:
        return _found(
            False,
            f"no piece of {label} was counted against a licence of {issuer} when it was "
            "anchored: printed without a valid licence of the design's OEM",
        )
    return _found(
        True,
        f"printed under {issuer}'s licence of {label} from its OEM {oem} (counted in block "
        f"{certificate.anchor.block_number})",
    )


def _found(passed: bool, detail: str) -> VerificationCheck:
    return VerificationCheck(name=LICENCE_CHECK, passed=passed, detail=detail)
