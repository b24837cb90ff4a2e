"""The certificate writer gives the bytes of the RFC 8785 encoder and of the rfc8785 library."""

from __future__ import annotations

from datetime import timedelta

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_json
from ledger.certificate_text import certificate_body
from ledger.documents import certificate_document
from ledger.errors import CanonicalEncodingError
from models.parts import (
    DesignRef,
    EvidenceGap,
    EvidenceSummary,
    Excursion,
    InspectionResult,
    MachineHealth,
    MaterialLotSource,
    ParameterStats,
    PartCertificate,
    PrinterHealth,
    Verdict,
)
from tests.unit.ledger.ledgerkit import T0, certificate

finite = st.floats(allow_nan=False, allow_infinity=False)
# integral, tiny, huge and negative doubles are where ECMAScript and repr() part ways
numbers = finite | st.sampled_from([0.0, -0.0, 1e21, 1e-7, 280.0, -1.5e-7, 2.0**53, 123e20])
texts = st.text(max_size=12) | st.sampled_from(["", "\ufb33", "\U0001f600", "\x7f", '"\\\n'])
moments = st.integers(-(10**6), 10**9).map(lambda s: T0 + timedelta(seconds=s, microseconds=s % 7))
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_\-]{0,8}", fullmatch=True)
verdicts = st.sampled_from(Verdict)

excursions = st.builds(Excursion, start=moments, end=moments, worst=numbers)
parameters = st.builds(
    ParameterStats,
    parameter=names,
    samples=st.integers(0, 10**6),
    min=st.none() | numbers,
    max=st.none() | numbers,
    mean=st.none() | numbers,
    std=st.none() | numbers,
    out_of_window_s=st.floats(0, 1e9),
    excursions=st.lists(excursions, max_size=2).map(tuple),
    excursion_count=st.integers(0, 4),
)
evidence = st.builds(
    EvidenceSummary,
    samples_sha256=st.just("cd" * 32),
    samples=st.integers(0, 10**9),
    started_at=moments,
    ended_at=moments,
    layers_done=st.integers(0, 10**5),
    layers_planned=st.integers(1, 10**5),
    parameters=st.lists(parameters, min_size=1, max_size=4).map(tuple),
    verdict=verdicts,
)
inspections = st.builds(
    InspectionResult,
    check=st.text(min_size=1, max_size=8),
    result=verdicts,
    inspector=st.text(min_size=1, max_size=8),
    at=moments,
    value=st.none() | numbers,
    unit=texts,
    note=texts,
)
printer_health = st.builds(
    PrinterHealth,
    at=moments,
    state=st.text(max_size=8),
    alarms=st.lists(texts, max_size=2).map(tuple),
    anomaly_score=st.none() | numbers,
    model_version=texts,
    hours_since_maintenance=st.none() | st.floats(0, 1e6),
)
gaps = st.builds(
    lambda start, seconds, cause: EvidenceGap(
        start=start, end=start + timedelta(seconds=seconds), cause=cause
    ),
    moments,
    st.integers(0, 10**5),
    st.text(min_size=1, max_size=12),
)
certificates = st.builds(
    PartCertificate,
    serial=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._\-/]{0,12}", fullmatch=True),
    design=st.builds(
        DesignRef,
        id=names,
        revision=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,4}", fullmatch=True),
        dossier_sha256=st.just("ab" * 32),
    ),
    printer=names,
    order_id=texts,
    job_id=st.from_regex(r"J-[0-9]{1,6}", fullmatch=True),
    material_lot=texts,
    evidence=evidence,
    inspections=st.lists(inspections, max_size=3).map(tuple),
    health=st.none() | st.builds(MachineHealth, model_version=names, score=numbers),
    verdict=verdicts,
    reasons=st.lists(texts, max_size=2).map(tuple),
    issuer=st.just("0x" + "12" * 20),
    issued_at=moments,
    material_lot_source=st.sampled_from(MaterialLotSource),
    health_at_start=st.none() | printer_health,
    health_at_end=st.none() | printer_health,
    gaps=st.lists(gaps, max_size=2).map(tuple),
    notes=st.lists(texts, max_size=2).map(tuple),
    verify_url=texts,
)


@settings(max_examples=300, deadline=None)
@given(certificates)
def test_generated_certificates_are_written_as_rfc8785_encodes_their_document(
    cert: PartCertificate,
) -> None:
    document = certificate_document(cert)
    try:
        expected = rfc8785.dumps(document)
    except UnicodeEncodeError:  # a lone surrogate in a drawn text: both refuse it
        with pytest.raises(CanonicalEncodingError):
            certificate_body(cert)
        return
    assert certificate_body(cert) == expected == canonical_json(document)


def test_a_record_made_without_validation_is_written_through_its_document() -> None:
    cert = PartCertificate.model_construct(
        **{**_plain_certificate().__dict__, "printer": 7, "order_id": ("not", "a", "string")}
    )
    assert certificate_body(cert) == rfc8785.dumps(certificate_document(cert))


def test_a_parameter_named_twice_keeps_its_last_statistics_as_the_document_does() -> None:
    cert = _plain_certificate()
    first, second = cert.evidence.parameters[0], cert.evidence.parameters[1]
    twice = second.model_copy(update={"parameter": first.parameter})
    evidence = cert.evidence.model_copy(update={"parameters": (first, second, twice)})
    cert = cert.model_copy(update={"evidence": evidence})
    assert certificate_body(cert) == rfc8785.dumps(certificate_document(cert))


def _plain_certificate() -> PartCertificate:
    ref = DesignRef(id="pump-impeller", revision="C", dossier_sha256="ab" * 32)
    return certificate("P-0001", ref, "0x" + "12" * 20)
