"""The JSON documents the ledger signs: certificates and the later records about a part."""

# =================================================================================================
# Once issued, a document is kept and handed out as the exact bytes that were signed: these
# functions only shape new documents. Changing a layout is a new schema version (…/2) beside
# the old one; verifiers read every schema ever issued.
# =================================================================================================

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from ledger.canonical import (
    CERT_LEAF_TAG_V1,
    END_OF_LIFE_LEAF_TAG_V1,
    INSPECTION_LEAF_TAG_V1,
    REINSTATEMENT_LEAF_TAG_V1,
    REVOCATION_LEAF_TAG_V1,
    SUSPENSION_LEAF_TAG_V1,
    JsonObject,
    JsonValue,
)
from ledger.errors import CanonicalEncodingError
from models import (
    UNKNOWN_LOT,
    EvidenceGap,
    EvidenceSummary,
    Excursion,
    InspectionResult,
    ParameterStats,
    PartCertificate,
    PrinterHealth,
    RecordKind,
)

CERTIFICATE_SCHEMA_V1 = "trustfloor.certificate/1"
"""The first certificates: no printer health, no lot source, no verify URL."""
CERTIFICATE_SCHEMA = "trustfloor.certificate/2"
"""Certificates issued now: v1 plus the printer's health at build, the material lot's source,
evidence gaps, notes and a verify URL."""
INSPECTION_SCHEMA = "trustfloor.inspection/1"
REVOCATION_SCHEMA = "trustfloor.revocation/1"
SUSPENSION_SCHEMA = "trustfloor.suspension/1"
"""A recall campaign holds a certificate: the campaign, its frozen list's digest, why."""
REINSTATEMENT_SCHEMA = "trustfloor.reinstatement/1"
"""A suspension lifted: the campaign, who cleared the part and why."""
END_OF_LIFE_SCHEMA = "trustfloor.end-of-life/1"
"""A part taken back or dismantled: which, by whom, when."""

SCHEMAS: Mapping[str, RecordKind] = {
    CERTIFICATE_SCHEMA_V1: RecordKind.CERTIFICATE,
    CERTIFICATE_SCHEMA: RecordKind.CERTIFICATE,
    INSPECTION_SCHEMA: RecordKind.INSPECTION,
    REVOCATION_SCHEMA: RecordKind.REVOCATION,
    SUSPENSION_SCHEMA: RecordKind.SUSPENSION,
    REINSTATEMENT_SCHEMA: RecordKind.REINSTATEMENT,
    END_OF_LIFE_SCHEMA: RecordKind.END_OF_LIFE,
}
"""Every schema ever issued and the kind of record it is."""

LEAF_TAG: Mapping[RecordKind, bytes] = {
    RecordKind.CERTIFICATE: CERT_LEAF_TAG_V1,
    RecordKind.INSPECTION: INSPECTION_LEAF_TAG_V1,
    RecordKind.REVOCATION: REVOCATION_LEAF_TAG_V1,
    RecordKind.SUSPENSION: SUSPENSION_LEAF_TAG_V1,
    RecordKind.REINSTATEMENT: REINSTATEMENT_LEAF_TAG_V1,
    RecordKind.END_OF_LIFE: END_OF_LIFE_LEAF_TAG_V1,
}
"""The frozen leaf tag that opens each kind of record's leaf."""


def iso(ts: datetime) -> str:
    """An aware timestamp as ISO 8601 in UTC with a Z (RFC 3339 §5.6), microseconds if any."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def kind_of(document: Mapping[str, JsonValue]) -> RecordKind:
    """The kind of a signed document, from its ``schema``."""
    schema = document.get("schema")
    if not isinstance(schema, str) or schema not in SCHEMAS:
        raise CanonicalEncodingError(f"unknown record schema {schema!r}")
    return SCHEMAS[schema]


def certificate_document(cert: PartCertificate) -> JsonObject:
    """The certificate of one part as the JSON object that is signed and anchored (schema 2).

    Optional facts (a model's machine health, reasons, notes, the printer's health at a moment
    it did not answer) are left out when absent rather than null. A lot nobody named is
    stated as "unknown".
    """
    document: JsonObject = {
        "schema": CERTIFICATE_SCHEMA,
        "serial": cert.serial,
        "design": {
            "id": cert.design.id,
            "revision": cert.design.revision,
            "dossier_sha256": cert.design.dossier_sha256,
        },
        "printer": cert.printer,
        "order": cert.order_id,
        "job": cert.job_id,
        "material_lot": cert.material_lot or UNKNOWN_LOT,
        "material_lot_source": cert.material_lot_source.value,
        "health_at_build": _health_at_build(cert.health_at_start, cert.health_at_end),
        "evidence": evidence_document(cert.evidence),
        "evidence_gaps": [gap_entry(g) for g in cert.gaps],
        "inspections": [inspection_entry(i) for i in cert.inspections],
        "verdict": cert.verdict.value,
        "issuer": cert.issuer,
        "issued_at": iso(cert.issued_at),
        "verify_url": cert.verify_url,
    }
    if cert.health is not None:
        document["health"] = {
            "model_version": cert.health.model_version,
            "score": cert.health.score,
        }
    if cert.reasons:
        document["reasons"] = list(cert.reasons)
    if cert.notes:
        document["notes"] = list(cert.notes)
    return document


def _health_at_build(start: PrinterHealth | None, end: PrinterHealth | None) -> JsonObject:
    moments: JsonObject = {}
    if start is not None:
        moments["start"] = printer_health_entry(start)
    if end is not None:
        moments["end"] = printer_health_entry(end)
    return moments


def printer_health_entry(health: PrinterHealth) -> JsonObject:
    """The printer's own health at one moment of the job, as the certificate states it."""
    entry: JsonObject = {
        "at": iso(health.at),
        "state": health.state,
        "alarms": list(health.alarms),
    }
    if health.anomaly_score is not None:
        entry["anomaly_score"] = health.anomaly_score
        entry["model_version"] = health.model_version
    if health.hours_since_maintenance is not None:
        entry["hours_since_maintenance"] = health.hours_since_maintenance
    return entry


def gap_entry(gap: EvidenceGap) -> JsonObject:
    """A stretch of the job without process data, and why."""
    return {"start": iso(gap.start), "end": iso(gap.end), "cause": gap.cause}


def evidence_document(evidence: EvidenceSummary) -> JsonObject:
    """A job's evidence summary inside its certificate."""
    return {
        "samples_sha256": evidence.samples_sha256,
        "samples": evidence.samples,
        "started_at": iso(evidence.started_at),
        "ended_at": iso(evidence.ended_at),
        "layers": {"done": evidence.layers_done, "planned": evidence.layers_planned},
        "parameters": {p.parameter: _parameter_entry(p) for p in evidence.parameters},
        "verdict": evidence.verdict.value,
    }


def _parameter_entry(stats: ParameterStats) -> JsonObject:
    entry: JsonObject = {
        "min": stats.min,
        "max": stats.max,
        "mean": stats.mean,
        "std": stats.std,
        "out_of_window_s": stats.out_of_window_s,
        "excursions": [_excursion_entry(e) for e in stats.excursions],
    }
    if stats.excursion_count > len(stats.excursions):
        entry["excursions_total"] = stats.excursion_count
    return entry


def _excursion_entry(excursion: Excursion) -> JsonObject:
    return {"start": iso(excursion.start), "end": iso(excursion.end), "worst": excursion.worst}


def inspection_entry(result: InspectionResult) -> JsonObject:
    """One inspection result as certificates and inspection records list it."""
    entry: JsonObject = {
        "check": result.check,
        "result": result.result.value,
        "inspector": result.inspector,
        "at": iso(result.at),
    }
    if result.value is not None:
        entry["value"] = result.value
    if result.unit:
        entry["unit"] = result.unit
    if result.note:
        entry["note"] = result.note
    return entry


def inspection_document(
    serial: str, certificate_leaf_hash: str, result: InspectionResult, issuer: str, at: datetime
) -> JsonObject:
    """A signed record of an inspection made after the part's certificate was issued."""
    return {
        "schema": INSPECTION_SCHEMA,
        "serial": serial,
        "certificate": certificate_leaf_hash,
        "inspection": inspection_entry(result),
        "issuer": issuer,
        "issued_at": iso(at),
    }


def revocation_document(
    serial: str, certificate_leaf_hash: str, reason: str, revoked_by: str, issuer: str, at: datetime
) -> JsonObject:
    """A signed record that withdraws a part's certificate, with who did it and why."""
    return {
        "schema": REVOCATION_SCHEMA,
        "serial": serial,
        "certificate": certificate_leaf_hash,
        "reason": reason,
        "revoked_by": revoked_by,
        "issuer": issuer,
        "issued_at": iso(at),
    }


def suspension_document(
    serial: str, certificate_leaf_hash: str, campaign: CampaignRef, issuer: str, at: datetime
) -> JsonObject:
    """A signed record that holds a part's certificate for recall ``campaign``."""
    return {
        "schema": SUSPENSION_SCHEMA,
        "serial": serial,
        "certificate": certificate_leaf_hash,
        "campaign": campaign.id,
        "affected_sha256": campaign.affected_sha256,
        "affected": campaign.affected,
        "reason": campaign.reason,
        "disposition": campaign.disposition,
        "suspended_by": campaign.opened_by,
        "issuer": issuer,
        "issued_at": iso(at),
    }


def reinstatement_document(
    serial: str,
    certificate_leaf_hash: str,
    campaign: str,
    reason: str,
    reinstated_by: str,
    issuer: str,
    at: datetime,
) -> JsonObject:
    """A signed record that lifts the suspension of a part's certificate, with who and why."""
    return {
        "schema": REINSTATEMENT_SCHEMA,
        "serial": serial,
        "certificate": certificate_leaf_hash,
        "campaign": campaign,
        "reason": reason,
        "reinstated_by": reinstated_by,
        "issuer": issuer,
        "issued_at": iso(at),
    }


def end_of_life_document(
    serial: str,
    certificate_leaf_hash: str,
    event: str,
    by: str,
    note: str,
    issuer: str,
    at: datetime,
) -> JsonObject:
    """A signed record that a part was taken back or dismantled (``event``), by whom, when."""
    document: JsonObject = {
        "schema": END_OF_LIFE_SCHEMA,
        "serial": serial,
        "certificate": certificate_leaf_hash,
        "event": event,
        "by": by,
        "issuer": issuer,
        "issued_at": iso(at),
    }
    if note:
        document["note"] = note
    return document


@dataclass(frozen=True, slots=True)
class CampaignRef:
    """What each suspension record states of its recall campaign."""

    id: str
    affected_sha256: str
    """SHA-256 of the campaign's frozen list of affected parts (canonical JSON)."""
    affected: int
    reason: str
    disposition: str
    opened_by: str
