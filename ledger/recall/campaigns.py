"""Recall campaigns on the ledger: a frozen, hashed list; suspensions sealed in one batch."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.canonical import JsonObject, canonical_json
from ledger.documents import (
    CampaignRef,
    end_of_life_document,
    iso,
    reinstatement_document,
    revocation_document,
    suspension_document,
)
from ledger.issuing import SignedRecord, sign_record
from ledger.recall.campaign_store import (
    Campaign,
    CampaignAction,
    CampaignPart,
    CampaignStore,
    Closure,
    Disposition,
)
from ledger.recall.criteria import TraceCriteria
from ledger.recall.errors import CampaignStateError, TraceCriteriaError
from ledger.recall.trace import TracedPart, traced_parts
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.tables import BatchRow, NewLeaf
from models import CertificateStatus, RecordKind

AFFECTED_FORMAT = "trustfloor.recall-list/1"
"""The layout of a campaign's frozen list (canonical JSON), whose SHA-256 every record states."""


@dataclass(frozen=True, slots=True)
class Opened:
    """A campaign just opened: the campaign, its parts, and the batch its records were sealed in
    (None when no certificate was affected)."""

    campaign: Campaign
    parts: tuple[CampaignPart, ...]
    records: tuple[SignedRecord, ...]
    batch: BatchRow | None


@dataclass(frozen=True, slots=True)
class PartClosed:
    """A part's case closed: the record it issued (a reinstatement, a revocation) if any, and
    whether that closed the campaign."""

    part: CampaignPart
    record: SignedRecord | None
    campaign_closed: bool


def frozen_list(campaign_id: str, criteria: TraceCriteria, parts: Sequence[TracedPart]) -> bytes:
    """The canonical JSON of the affected list: each part with the certificate it had then."""
    document: JsonObject = {
        "format": AFFECTED_FORMAT,
        "campaign": campaign_id,
        "criteria": criteria.document(),
        "parts": [
            {
                "serial": p.serial,
                "certificate": p.certificate_leaf or None,
                "status": p.status.value,
            }
            for p in parts
        ],
    }
    return canonical_json(document)


class RecallDesk:
    """Opens and follows recall campaigns on the site's ledger (blocking: SQLite, signing)."""

    def __init__(self, ledger: LedgerStore, campaigns: CampaignStore, key: SiteKey) -> None:
        self.ledger = ledger
        self.campaigns = campaigns
        self.key = key

    def open(
        self,
        criteria: TraceCriteria,
        *,
        reason: str,
        disposition: Disposition,
        action: CampaignAction,
        opened_by: str,
        at: datetime,
    ) -> Opened:
        """Freeze the parts ``criteria`` names (refused parts have no certificate and are left
        out), keep the list and its SHA-256, then sign one suspension (or revocation) record per
        certificate still standing, append them in one transaction and seal them in one batch.
        TraceCriteriaError when no part matches."""
        if not reason.strip():
            raise TraceCriteriaError("a recall needs a --reason")
        affected = [
            p
            for p in traced_parts(self.ledger, criteria)
            if p.status is not CertificateStatus.REFUSED
        ]
        if not affected:
            raise TraceCriteriaError(f"no part matches {criteria.describe()}: nothing to recall")
        campaign_id = self.campaigns.next_id()
        listed = frozen_list(campaign_id, criteria, affected)
        campaign = Campaign(
            id=campaign_id,
            criteria=canonical_json(criteria.document()).decode(),
            reason=reason,
            disposition=disposition,
            action=action,
            opened_by=opened_by,
            opened_at=at,
            affected=listed,
            affected_sha256=hashlib.sha256(listed).hexdigest(),
        )
        parts = tuple(CampaignPart(p.serial, p.certificate_leaf) for p in affected)
        self.campaigns.open(campaign, parts)
        ref = CampaignRef(
            id=campaign.id,
            affected_sha256=campaign.affected_sha256,
            affected=len(parts),
            reason=reason,
            disposition=disposition.value,
            opened_by=opened_by,
        )
        records = [self._hold(campaign, ref, p, at) for p in affected if _holdable(p, action)]
        batch = self._append_sealed(records, at)
        return Opened(campaign, parts, tuple(records), batch)

    def _hold(
        self, campaign: Campaign, ref: CampaignRef, part: TracedPart, at: datetime
    ) -> SignedRecord:
        if campaign.action is CampaignAction.REVOKE:
            reason = (
                f"recall {campaign.id}: {campaign.reason} "
                f"(affected list sha256 {campaign.affected_sha256})"
            )
            document = revocation_document(
                part.serial,
                part.certificate_leaf,
                reason,
                campaign.opened_by,
                self.key.address,
                at,
            )
            return sign_record(self.key, RecordKind.REVOCATION, document)
        document = suspension_document(
            part.serial, part.certificate_leaf, ref, self.key.address, at
        )
        return sign_record(self.key, RecordKind.SUSPENSION, document)

    def _append_sealed(self, records: Sequence[SignedRecord], at: datetime) -> BatchRow | None:
        """Append ``records`` in one transaction and seal every waiting leaf in one batch, so
        the records are anchored together by the next anchoring tick."""
        if not records:
            return None
        self.ledger.append([_leaf(r, at) for r in records])
        waiting, _ = self.ledger.pending()
        return self.ledger.seal(waiting, at)

    def close_part(
        self,
        campaign_id: str,
        serial: str,
        closure: Closure,
        *,
        by: str,
        at: datetime,
        note: str = "",
        replacement_order: str = "",
    ) -> PartClosed:
        """Record how one affected part ended. Inspected fine, a suspended certificate is
        reinstated by a signed record; scrapped, it is revoked; returned or replaced, it stays
        held. The records are appended here and anchored with the next batch."""
        campaign = self.campaigns.campaign(campaign_id)
        part = self._part(campaign_id, serial)
        if part.closure is not None:
            raise CampaignStateError(f"part {serial} of {campaign_id} was already closed")
        record = self._closing_record(campaign, part, closure, by, note, at)
        done = self.campaigns.close_part(
            campaign_id, serial, closure, by, at, note=note, replacement_order=replacement_order
        )
        if record is not None:
            self._append_sealed([record], at)
        closed = self._part(campaign_id, serial)
        return PartClosed(closed, record, done)

    def record_end_of_life(
        self, serial: str, event: str, *, by: str, note: str, at: datetime
    ) -> SignedRecord | None:
        """Sign that part ``serial`` was taken back or dismantled and seal it in a batch of its
        own; None when the part has no certificate to refer to."""
        certificate = self.ledger.leaf(serial, RecordKind.CERTIFICATE)
        if certificate is None:
            return None
        document = end_of_life_document(
            serial, certificate.leaf_hash.hex(), event, by, note, self.key.address, at
        )
        record = sign_record(self.key, RecordKind.END_OF_LIFE, document)
        self._append_sealed([record], at)
        return record

    def _part(self, campaign_id: str, serial: str) -> CampaignPart:
        for part in self.campaigns.parts(campaign_id):
            if part.serial == serial:
                return part
        raise CampaignStateError(f"part {serial} is not in recall campaign {campaign_id}")

    def _closing_record(
        self,
        campaign: Campaign,
        part: CampaignPart,
        closure: Closure,
        by: str,
        note: str,
        at: datetime,
    ) -> SignedRecord | None:
        if not part.certificate or self._revoked(part.serial):
            return None
        if closure is Closure.INSPECTED_OK and campaign.action is CampaignAction.SUSPEND:
            reason = note or f"inspected and found fine after recall {campaign.id}"
            document = reinstatement_document(
                part.serial, part.certificate, campaign.id, reason, by, self.key.address, at
            )
            return sign_record(self.key, RecordKind.REINSTATEMENT, document)
        if closure is Closure.SCRAPPED:
            reason = f"scrapped in recall {campaign.id}: {campaign.reason}"
            document = revocation_document(
                part.serial, part.certificate, reason, by, self.key.address, at
            )
            return sign_record(self.key, RecordKind.REVOCATION, document)
        return None

    def _revoked(self, serial: str) -> bool:
        return self.ledger.leaf(serial, RecordKind.REVOCATION) is not None


def _holdable(part: TracedPart, action: CampaignAction) -> bool:
    """Whether the part has a certificate a campaign can still hold or withdraw."""
    if not part.certificate_leaf or part.status is CertificateStatus.REVOKED:
        return False
    return action is CampaignAction.REVOKE or part.status is not CertificateStatus.SUSPENDED


def _leaf(record: SignedRecord, at: datetime) -> NewLeaf:
    return NewLeaf(
        kind=record.kind,
        serial=record.serial,
        body=record.body,
        leaf_hash=record.leaf_hash,
        signature=record.signature,
        created_at=at,
    )


def campaign_document(campaign: Campaign, parts: Sequence[CampaignPart]) -> JsonObject:
    """A campaign with its progress, as ``recall show --json`` prints it."""
    closed = [p for p in parts if p.closure is not None]
    return {
        "id": campaign.id,
        "state": "closed" if campaign.closed_at is not None else "open",
        "reason": campaign.reason,
        "disposition": campaign.disposition.value,
        "action": campaign.action.value,
        "opened_by": campaign.opened_by,
        "opened_at": iso(campaign.opened_at),
        "closed_at": None if campaign.closed_at is None else iso(campaign.closed_at),
        "affected_sha256": campaign.affected_sha256,
        "progress": {"closed": len(closed), "total": len(parts)},
        "parts": [_part_entry(p) for p in parts],
    }


def _part_entry(part: CampaignPart) -> JsonObject:
    return {
        "serial": part.serial,
        "certificate": part.certificate or None,
        "closure": None if part.closure is None else part.closure.value,
        "closed_by": part.closed_by or None,
        "closed_at": None if part.closed_at is None else iso(part.closed_at),
        "note": part.note,
        "replacement_order": part.replacement_order or None,
    }
