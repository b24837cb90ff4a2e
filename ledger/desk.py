"""The ledger as the server's CertificateDesk port: certificates and bundles for the MES."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from pydantic import ValidationError

from ledger.agent import quota_refusal
from ledger.bundle import bundle_json, read_bundle
from ledger.canonical import design_key
from ledger.errors import BundleError, ChainError, InvalidInspectionError
from ledger.service import LedgerService
from models import InspectionResult, JsonTextError, VerificationOutcome, parse_json_text

log = logging.getLogger(__name__)


class LedgerDesk:
    """Implements models.ports.CertificateDesk over a LedgerService.

    Unknown serials raise NotFoundError, wrong states InvalidStateError and malformed
    inspection results InvalidRequestError (through the ledger's errors that derive from
    them), so the server maps each to its OPC UA status.
    """

    def __init__(self, service: LedgerService) -> None:
        self.service = service

    async def certificate_json(self, serial: str) -> str:
        """The signed certificate of part ``serial``: its RFC 8785 JSON exactly as signed.

        A certificate the store no longer re-derives is refused (StoredRecordAlteredError, an
        invalid state), never handed out.
        """
        return (await self.service.certificate_body(serial)).decode("utf-8")

    async def proof_bundle_json(self, serial: str) -> str:
        """The part's proof bundle as it stands now (see ``certificate export``)."""
        return bundle_json(await self.service.bundle(serial))

    async def verify_bundle(self, bundle_json: str) -> VerificationOutcome:
        """Verify a bundle: online against this site's chain when it has one (its allow-list
        decides), else offline trusting this site's key and ledger.trusted_issuers."""
        try:
            bundle = read_bundle(bundle_json)
        except BundleError as exc:
            return VerificationOutcome(valid=False, reason=str(exc))
        report = await self.service.verify(bundle, online=self.service.chain is not None)
        if not report.valid:
            return VerificationOutcome(valid=False, reason=report.reasons[0])
        verdict = report.part_verdict.value if report.part_verdict else "unknown"
        reason = f"authentic ({report.mode}): part {report.serial}, verdict {verdict}"
        return VerificationOutcome(valid=True, reason=reason)

    async def record_inspection(self, serial: str, results_json: str, inspector: str) -> None:
        """Record one result ``{"check", "result", ...}`` or ``{"results": [...]}`` of them."""
        for result in inspection_results(results_json, inspector, self.service.clock.now()):
            await self.service.add_inspection(serial, result)

    async def revoke(self, serial: str, reason: str, revoked_by: str) -> None:
        """Revoke the part's certificate by a signed record anchored with the next batch."""
        await self.service.revoke(serial, reason, revoked_by)

    def has_design(self, design_id: str) -> bool:
        """Whether the site keeps a dossier of some revision of ``design_id`` to print from
        (``<designs_dir>/<id>/<revision>/``, what the printer agent loads)."""
        folder = self.service.designs_dir / design_id
        return folder.is_dir() and any(child.is_dir() for child in folder.iterdir())

    async def licence_refusal(self, design_id: str, revision: str, quantity: int) -> str | None:
        """Why the site's licence cannot cover ``quantity`` more pieces, or None when it can.

        Counts what the printer agent counts: pieces anchored on chain and pieces printed or
        printing but not anchored yet. None as well when the site has no chain or the chain
        does not answer now: the agent checks again before each piece.
        """
        chain = self.service.chain
        if chain is None:
            return None
        key = design_key(design_id, revision)
        try:
            licence = await chain.licence(key, self.service.address)
        except ChainError as exc:
            log.warning("licence of %s %s not checked now: %s", design_id, revision, exc)
            return None
        unanchored = await asyncio.to_thread(self.service.store.unanchored_pieces, key)
        label = f"design {design_id} revision {revision}"
        refusal = quota_refusal(label, licence, unanchored, quantity, at=self.service.clock.now())
        return None if refusal is None else str(refusal)


def inspection_results(text: str, inspector: str, at: datetime) -> list[InspectionResult]:
    """Parse inspection results sent by a quality engineer; InvalidInspectionError if not."""
    try:
        raw = parse_json_text(text, what="inspection results")
        entries = raw["results"] if isinstance(raw, dict) and "results" in raw else [raw]
        if not isinstance(entries, list) or not entries:
            raise InvalidInspectionError("no inspection results given")
        return [
            InspectionResult.model_validate({**entry, "inspector": inspector, "at": at})
            for entry in entries
        ]
    except (JsonTextError, ValueError, TypeError, KeyError) as exc:
        detail = (
            exc.errors(include_url=False)[0]["msg"] if isinstance(exc, ValidationError) else exc
        )
        raise InvalidInspectionError(f"inspection results not recorded: {detail}") from None
