"""Issuing signed records: build certificates, encode, sign, append durably, seal due batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from ledger.batcher import BatchPolicy
from ledger.canonical import JsonObject, canonical_json, design_key
from ledger.certificate_text import certificate_body
from ledger.documents import LEAF_TAG, iso
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
    serials = [str(document["serial"]) for document in documents]
    return sign_bodies(key, kind, serials, map(canonical_json, documents))


def sign_bodies(
    key: SiteKey, kind: RecordKind, serials: Sequence[str], bodies: Iterable[bytes]
) -> list[SignedRecord]:
    """Hash each encoded record's tagged leaf (RFC 6962 §2.1) and sign it.

    ``bodies`` (one per serial) may be a lazy iterable: chunks are signed on the signing
    threads while the next records are encoded.
    """
    tag = LEAF_TAG[kind]
    kept: list[bytes] = []
    leaf_hashes: list[bytes] = []

    def hashed() -> Iterator[bytes]:
        for body in bodies:
            kept.append(body)
            leaf_hashes.append(hash_leaf(tag + body))
            yield leaf_hashes[-1]

    signatures = key.sign_many(hashed())
    return [
        SignedRecord(kind, serial, body, leaf_hash, signature)
        for serial, body, leaf_hash, signature in zip(
            serials, kept, leaf_hashes, signatures, strict=True
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
        signed, leaves = self._signed_leaves(certificates, jobs)
        self.store.append(leaves)
        return signed

    def issue_in_runs(
        self, certificates: Sequence[PartCertificate], run: int, *, seal_at: datetime | None = None
    ) -> list[SignedRecord]:
        """:meth:`issue_certificates` of each run of ``run`` certificates, in order, one
        transaction per run: while a run commits (its fsync waits on the disk), the next run
        is encoded and signed.

        With ``seal_at``, each run's transaction also seals every full batch of the policy's
        size, sealed at ``seal_at`` (LedgerStore.append_sealing): a batch's leaves are written
        once, with their proofs. Durable when it returns. When a run fails, the runs before
        it stay issued (and sealed) and the error is raised.
        """
        if run < 1:
            raise ValueError(f"a run holds at least one certificate, not {run}")
        write = self._writer(seal_at)
        issued: list[SignedRecord] = []
        with ThreadPoolExecutor(1, thread_name_prefix="ledger-append") as writer:
            committing: Future[object] | None = None
            for start in range(0, len(certificates), run):
                part = certificates[start : start + run]
                signed, leaves = self._signed_leaves(part, [None] * len(part))
                if committing is not None:
                    committing.result()
                committing = writer.submit(write, leaves)
                issued += signed
            if committing is not None:
                committing.result()
        return issued

    def _writer(self, seal_at: datetime | None) -> Callable[[Sequence[NewLeaf]], object]:
        """How a run is written: appended, or appended with its full batches sealed."""
        if seal_at is None:
            return self.store.append
        return partial(self.store.append_sealing, batch_size=self.policy.max_size, at=seal_at)

    def _signed_leaves(
        self, certificates: Sequence[PartCertificate], jobs: Sequence[str | None]
    ) -> tuple[list[SignedRecord], list[NewLeaf]]:
        signed = sign_bodies(
            self.key,
            RecordKind.CERTIFICATE,
            [c.serial for c in certificates],
            map(certificate_body, certificates),
        )
        leaves = [
            _new_leaf(s, c.issued_at, self._design_key(c.design), job)
            for s, c, job in zip(signed, certificates, jobs, strict=True)
        ]
        return signed, leaves

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
