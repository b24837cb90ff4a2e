"""Issuing signed records: build certificates, encode, sign, append durably, seal due batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.batcher import BatchPolicy
from ledger.canonical import JsonObject, canonical_json, design_key
from ledger.documents import LEAF_TAG, certificate_document, iso
from ledger.merkle import hash_leaf
from ledger.signing import SiteKey
from ledger.store import LedgerStore
from ledger.tables import BatchRow, JobRecord, NewLeaf
from models import (
    UNKNOWN_LOT,
    DesignRef,
    EvidenceGap,
    InspectionResult,
    MachineHealth,
    MaterialLotSource,
    PartCertificate,
    PrintJob,
    RecordKind,
    Verdict,
    from_micros,
)


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """A record encoded and signed: the exact bytes kept, their leaf hash, the signature."""

    kind: RecordKind
    serial: str
    body: bytes
    leaf_hash: bytes
    signature: bytes


def sign_record(key: SiteKey, kind: RecordKind, document: JsonObject) -> SignedRecord:
    """Encode ``document`` (RFC 8785), hash its tagged leaf (RFC 6962 §2.1) and sign the hash."""
    body = canonical_json(document)
    leaf_hash = hash_leaf(LEAF_TAG[kind] + body)
    return SignedRecord(kind, str(document["serial"]), body, leaf_hash, key.sign(leaf_hash))


def sign_records(
    key: SiteKey, kind: RecordKind, documents: Sequence[JsonObject]
) -> list[SignedRecord]:
    """:func:`sign_record` of each document; chunks are signed while the next are encoded."""
    bodies: list[bytes] = []
    leaf_hashes: list[bytes] = []

    def encoded() -> Iterator[bytes]:
        for document in documents:
            bodies.append(canonical_json(document))
            leaf_hashes.append(hash_leaf(LEAF_TAG[kind] + bodies[-1]))
            yield leaf_hashes[-1]

    signatures = key.sign_many(encoded())
    return [
        SignedRecord(kind, str(document["serial"]), body, leaf_hash, signature)
        for document, body, leaf_hash, signature in zip(
            documents, bodies, leaf_hashes, signatures, strict=True
        )
    ]


def build_certificate(
    record: JobRecord,
    inspections: Sequence[InspectionResult],
    health: MachineHealth | None,
    issuer: str,
    issued_at: datetime,
    *,
    verify_url: str = "",
) -> PartCertificate:
    """A finished job's certificate: it passes when its evidence and every inspection pass.

    It states the printer's health at the job's start and end, the material lot with where it
    came from, and the gaps in the evidence; an unknown lot and each gap are noted, and fail
    nothing by themselves.
    """
    if record.evidence is None:
        raise ValueError(f"job {record.job.job_id} has no evidence yet")
    reasons = [*record.evidence.reasons]
    reasons += [f"inspection {i.check}: fail" for i in inspections if i.result is Verdict.FAIL]
    job = record.job
    known_lot = job.material_lot_source is not MaterialLotSource.UNKNOWN and job.material_lot
    return PartCertificate(
        serial=job.serial,
        design=job.design,
        printer=job.printer,
        order_id=job.order_id,
        job_id=job.job_id,
        material_lot=job.material_lot if known_lot else UNKNOWN_LOT,
        material_lot_source=job.material_lot_source if known_lot else MaterialLotSource.UNKNOWN,
        evidence=record.evidence,
        inspections=tuple(inspections),
        health=health,
        health_at_start=job.health_at_start,
        health_at_end=job.health_at_end,
        gaps=job.gaps,
        notes=certificate_notes(job, bool(known_lot)),
        verdict=Verdict.FAIL if reasons else Verdict.PASS,
        reasons=tuple(reasons),
        issuer=issuer,
        issued_at=issued_at,
        verify_url=verify_url,
    )


UNKNOWN_LOT_NOTE = (
    "material lot unknown: the printer reported no feedstock lot at job start and the order "
    "named none"
)


def certificate_notes(job: PrintJob, known_lot: bool) -> tuple[str, ...]:
    """What a reader of the certificate must know that fails nothing: an unknown lot, gaps."""
    notes = [] if known_lot else [UNKNOWN_LOT_NOTE]
    notes += [gap_note(gap) for gap in job.gaps]
    return tuple(notes)


def gap_note(gap: EvidenceGap) -> str:
    """An evidence gap as a sentence: when, how long, why."""
    seconds = (gap.end - gap.start).total_seconds()
    return (
        f"evidence gap from {iso(gap.start)} to {iso(gap.end)} ({seconds:.0f} s): {gap.cause}; "
        "no process data was recorded then"
    )


class Issuer:
    """Signs records with the site key and appends them to the store, durable on return.

    Blocking (SQLite with fsync on commit): the async service runs it in a worker thread.
    """

    def __init__(self, store: LedgerStore, key: SiteKey, policy: BatchPolicy) -> None:
        self.store = store
        self.key = key
        self.policy = policy
        self._design_keys: dict[tuple[str, str], bytes] = {}

    def _design_key(self, design: DesignRef) -> bytes:
        key = (design.id, design.revision)
        if key not in self._design_keys:
            self._design_keys[key] = design_key(*key)
        return self._design_keys[key]

    def issue_certificates(
        self, certificates: Sequence[PartCertificate], *, job_ids: Sequence[str | None] = ()
    ) -> list[SignedRecord]:
        """Sign certificates and append them in one transaction; none is kept if one fails.

        ``job_ids`` (one per certificate, or none at all) names the finished jobs they certify.
        """
        jobs = list(job_ids) or [None] * len(certificates)
        if len(jobs) != len(certificates):
            raise ValueError("give one job id per certificate, or none")
        documents = [certificate_document(c) for c in certificates]
        signed = sign_records(self.key, RecordKind.CERTIFICATE, documents)
        self.store.append(
            [
                _new_leaf(s, c.issued_at, self._design_key(c.design), job)
                for s, c, job in zip(signed, certificates, jobs, strict=True)
            ]
        )
        return signed

    def issue_record(self, kind: RecordKind, document: JsonObject, at: datetime) -> SignedRecord:
        """Sign and append one inspection or revocation record."""
        signed = sign_record(self.key, kind, document)
        self.store.append([_new_leaf(signed, at, None, None)])
        return signed

    def seal_due(self, now: datetime) -> list[BatchRow]:
        """Seal every batch the policy says is due now."""
        pending, oldest_us = self.store.pending()
        oldest = None if oldest_us is None else from_micros(oldest_us)
        sealed = []
        for size in self.policy.plan(pending, oldest, now):
            batch = self.store.seal(size, now)
            if batch is not None:
                sealed.append(batch)
        return sealed


def _new_leaf(signed: SignedRecord, at: datetime, key: bytes | None, job_id: str | None) -> NewLeaf:
    return NewLeaf(
        kind=signed.kind,
        serial=signed.serial,
        body=signed.body,
        leaf_hash=signed.leaf_hash,
        signature=signed.signature,
        created_at=at,
        design_key=key,
        job_id=job_id,
    )
