"""The signed bytes of a schema-2 certificate, written straight from the record in RFC 8785 form."""

# =================================================================================================
# These bytes are hashed into anchored leaves. They must equal, byte for byte,
# canonical_json(certificate_document(cert)) for every certificate: documents.py says what a
# certificate holds, this module only writes it faster (members already in RFC 8785 §3.2.3
# order, no intermediate document). tests/unit/ledger/test_certificate_text.py holds the two
# side by side over generated certificates, with the rfc8785 library as a third witness. A new
# member of the certificate document is written here too, or those tests fail.
# =================================================================================================

from __future__ import annotations

from collections.abc import Sequence
from json.encoder import encode_basestring as _string

from ledger.canonical import canonical_json, member_order, value_text
from ledger.documents import CERTIFICATE_SCHEMA, certificate_document, iso
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
)

_SCHEMA = _string(CERTIFICATE_SCHEMA)


def certificate_body(cert: PartCertificate) -> bytes:
    """``canonical_json(certificate_document(cert))``, written without building the document.

    A record holding a value its declared type does not allow (one made without validation)
    is encoded through the document, so the bytes never differ.
    """
    try:
        text = _certificate(cert)
    except (TypeError, AttributeError):
        return canonical_json(certificate_document(cert))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalEncodingError(f"value has no canonical JSON form: {exc}") from exc


def _certificate(cert: PartCertificate) -> str:
    design = cert.design
    out = [
        '{"design":{"dossier_sha256":',
        _string(design.dossier_sha256),
        ',"id":',
        _string(design.id),
        ',"revision":',
        _string(design.revision),
        '},"evidence":',
        _evidence(cert.evidence),
        ',"evidence_gaps":[',
        ",".join(map(_gap, cert.gaps)),
        "]",
    ]
    if cert.health is not None:
        out += [
            ',"health":{"model_version":',
            _string(cert.health.model_version),
            ',"score":',
            value_text(cert.health.score),
            "}",
        ]
    out += [
        ',"health_at_build":',
        _health_at_build(cert.health_at_start, cert.health_at_end),
        ',"inspections":[',
        ",".join(map(_inspection, cert.inspections)),
        '],"issued_at":',
        _string(iso(cert.issued_at)),
        ',"issuer":',
        _string(cert.issuer),
        ',"job":',
        _string(cert.job_id),
        ',"material_lot":',
        _string(cert.material_lot or UNKNOWN_LOT),
        ',"material_lot_source":',
        _string(cert.material_lot_source.value),
    ]
    if cert.notes:
        out += [',"notes":', _strings(cert.notes)]
    out += [',"order":', _string(cert.order_id), ',"printer":', _string(cert.printer)]
    if cert.reasons:
        out += [',"reasons":', _strings(cert.reasons)]
    out += [
        ',"schema":',
        _SCHEMA,
        ',"serial":',
        _string(cert.serial),
        ',"verdict":',
        _string(cert.verdict.value),
        ',"verify_url":',
        _string(cert.verify_url),
        "}",
    ]
    return "".join(out)


def _strings(values: Sequence[str]) -> str:
    return "[" + ",".join(map(_string, values)) + "]"


def _evidence(evidence: EvidenceSummary) -> str:
    entries = {p.parameter: p for p in evidence.parameters}  # the last of a name wins, as there
    parameters = ",".join(
        _string(name) + ":" + _parameter(entries[name]) for name in member_order(list(entries))
    )
    return "".join(
        [
            '{"ended_at":',
            _string(iso(evidence.ended_at)),
            ',"layers":{"done":',
            value_text(evidence.layers_done),
            ',"planned":',
            value_text(evidence.layers_planned),
            '},"parameters":{',
            parameters,
            '},"samples":',
            value_text(evidence.samples),
            ',"samples_sha256":',
            _string(evidence.samples_sha256),
            ',"started_at":',
            _string(iso(evidence.started_at)),
            ',"verdict":',
            _string(evidence.verdict.value),
            "}",
        ]
    )


def _parameter(stats: ParameterStats) -> str:
    total = ""
    if stats.excursion_count > len(stats.excursions):
        total = ',"excursions_total":' + value_text(stats.excursion_count)
    return "".join(
        [
            '{"excursions":[',
            ",".join(map(_excursion, stats.excursions)),
            "]",
            total,
            ',"max":',
            value_text(stats.max),
            ',"mean":',
            value_text(stats.mean),
            ',"min":',
            value_text(stats.min),
            ',"out_of_window_s":',
            value_text(stats.out_of_window_s),
            ',"std":',
            value_text(stats.std),
            "}",
        ]
    )


def _excursion(excursion: Excursion) -> str:
    return (
        f'{{"end":{_string(iso(excursion.end))},"start":{_string(iso(excursion.start))},'
        f'"worst":{value_text(excursion.worst)}}}'
    )


def _gap(gap: EvidenceGap) -> str:
    return (
        f'{{"cause":{_string(gap.cause)},"end":{_string(iso(gap.end))},'
        f'"start":{_string(iso(gap.start))}}}'
    )


def _inspection(result: InspectionResult) -> str:
    out = [
        '{"at":',
        _string(iso(result.at)),
        ',"check":',
        _string(result.check),
        ',"inspector":',
        _string(result.inspector),
    ]
    if result.note:
        out += [',"note":', _string(result.note)]
    out += [',"result":', _string(result.result.value)]
    if result.unit:
        out += [',"unit":', _string(result.unit)]
    if result.value is not None:
        out += [',"value":', value_text(result.value)]
    out.append("}")
    return "".join(out)


def _health_at_build(start: PrinterHealth | None, end: PrinterHealth | None) -> str:
    moments = []
    if end is not None:
        moments.append('"end":' + _printer_health(end))
    if start is not None:
        moments.append('"start":' + _printer_health(start))
    return "{" + ",".join(moments) + "}"


def _printer_health(health: PrinterHealth) -> str:
    out = ['{"alarms":', _strings(health.alarms)]
    if health.anomaly_score is not None:
        out += [',"anomaly_score":', value_text(health.anomaly_score)]
    out += [',"at":', _string(iso(health.at))]
    if health.hours_since_maintenance is not None:
        out += [',"hours_since_maintenance":', value_text(health.hours_since_maintenance)]
    if health.anomaly_score is not None:
        out += [',"model_version":', _string(health.model_version)]
    out += [',"state":', _string(health.state), "}"]
    return "".join(out)
