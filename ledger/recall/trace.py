"""The ledger's side of a trace: matching parts, their certificate's standing, their origin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ledger.bundle import attested_record
from ledger.canonical import JsonObject, JsonValue
from ledger.documents import iso, printer_health_entry
from ledger.recall.criteria import TraceCriteria
from ledger.store import LedgerStore
from ledger.tables import LeafRow, PartRow
from models import CertificateStatus, PrintJob, RecordKind, Verdict, from_micros


@dataclass(frozen=True, slots=True)
class TracedPart:
    """One part a trace found: its job, its certificate's standing and, when asked, its origin."""

    job: PrintJob
    status: CertificateStatus
    verdict: Verdict | None
    certificate_leaf: str
    """The certificate's leaf hash (hex); "" before it is issued."""
    refusal: str = ""
    upstream: JsonObject | None = None
    certified_at: datetime | None = None
    """When the certificate was issued; None before."""

    @property
    def serial(self) -> str:
        return self.job.serial

    def document(self) -> JsonObject:
        """The part as trace JSON lists it."""
        job = self.job
        entry: JsonObject = {
            "serial": job.serial,
            "design": {
                "id": job.design.id,
                "revision": job.design.revision,
                "dossier_sha256": job.design.dossier_sha256,
            },
            "printer": job.printer,
            "order": job.order_id,
            "material_lot": job.material_lot,
            "built_at": iso(job.started_at),
            "certificate": self.status.value,
            "verdict": None if self.verdict is None else self.verdict.value,
            "certificate_leaf": self.certificate_leaf or None,
        }
        if self.refusal:
            entry["refusal"] = self.refusal
        if self.upstream is not None:
            entry["upstream"] = self.upstream
        return entry


def traced_parts(
    store: LedgerStore, criteria: TraceCriteria, *, upstream: bool = False
) -> list[TracedPart]:
    """Every part the ledger knows that ``criteria`` names, by serial (blocking: SQLite)."""
    suspended = store.suspended_serials()
    found = []
    for row in store.parts():
        if criteria.matches(row.job):
            found.append(_traced(store, row, row.job.serial in suspended, upstream))
    return found


def certificate_status(row: PartRow, suspended: bool) -> CertificateStatus:
    """Where a part's certificate stands: refused, revoked, suspended, anchored, issued, none."""
    if row.refusal:
        return CertificateStatus.REFUSED
    if row.revoked:
        return CertificateStatus.REVOKED
    if suspended:
        return CertificateStatus.SUSPENDED
    if row.anchored:
        return CertificateStatus.ANCHORED
    return CertificateStatus.ISSUED if row.certified else CertificateStatus.NONE


def _traced(store: LedgerStore, row: PartRow, suspended: bool, upstream: bool) -> TracedPart:
    certificate = store.leaf(row.job.serial, RecordKind.CERTIFICATE)
    origin = None
    if upstream:
        origin = _upstream(store, row, certificate)
    return TracedPart(
        job=row.job,
        status=certificate_status(row, suspended),
        verdict=row.verdict,
        certificate_leaf="" if certificate is None else certificate.leaf_hash.hex(),
        refusal=row.refusal,
        upstream=origin,
        certified_at=None if certificate is None else from_micros(certificate.created_us),
    )


def _upstream(store: LedgerStore, row: PartRow, certificate: LeafRow | None) -> JsonObject:
    """Where the part came from: lot, printer, dossier, evidence, inspections, health at build;
    as its certificate states them once issued, from its job before."""
    later = store.records_about(row.job.serial)
    inspections: list[JsonValue] = [
        attested_record(r).document["inspection"] for r in later if r.kind is RecordKind.INSPECTION
    ]
    job = row.job
    if certificate is not None:
        doc = attested_record(certificate).document
        inspections = [*doc.get("inspections", []), *inspections]
        return {
            "material_lot": doc.get("material_lot"),
            "material_lot_source": doc.get("material_lot_source", "order"),
            "printer": doc.get("printer"),
            "dossier_sha256": doc["design"]["dossier_sha256"],
            "evidence": _evidence_of(doc.get("evidence")),
            "inspections": inspections,
            "health_at_build": doc.get("health_at_build", {}),
            "records": [r.kind.value for r in later],
        }
    evidence = store.job_by_serial(job.serial).evidence
    return {
        "material_lot": job.material_lot,
        "material_lot_source": job.material_lot_source.value,
        "printer": job.printer,
        "dossier_sha256": job.design.dossier_sha256,
        "evidence": None
        if evidence is None
        else {
            "samples_sha256": evidence.samples_sha256,
            "samples": evidence.samples,
            "verdict": evidence.verdict.value,
        },
        "inspections": inspections,
        "health_at_build": _health_of(job),
        "records": [r.kind.value for r in later],
    }


def _evidence_of(evidence: JsonValue) -> JsonValue:
    if not isinstance(evidence, dict):
        return None
    keep = ("samples_sha256", "samples", "started_at", "ended_at", "verdict")
    return {key: evidence.get(key) for key in keep}


def _health_of(job: PrintJob) -> JsonObject:
    moments: JsonObject = {}
    for name, health in (("start", job.health_at_start), ("end", job.health_at_end)):
        if health is not None:
            moments[name] = printer_health_entry(health)
    return moments
