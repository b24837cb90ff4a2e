"""What a part's report shows, read from the site's ledger store: records, checks, standing."""

# The report reads only this site's ledger store: the signed certificate (exactly as issued),
# the later records about the part, the job's raw samples and the registered dossier (for the
# windows' units and bounds).

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.bundle import build_bundle
from ledger.errors import UnknownRecordError
from ledger.store import LedgerStore
from ledger.stored import checked_part
from ledger.tables import JobState, LeafRow
from ledger.trust import IssuerTrust
from ledger.verify import verify_offline
from models import DesignDossier, ParameterWindow, RecordKind, Sample, Verdict, VerificationReport


@dataclass(frozen=True, slots=True)
class PartRecords:
    """What the site's ledger keeps about one part: everything its report shows."""

    certificate: LeafRow
    document: dict[str, Any]
    """The signed certificate as issued, parsed."""
    later: list[LeafRow]
    samples: list[Sample]
    dossier: DesignDossier | None


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the part stands now: its verdict word, CSS class and the reasons for it."""

    word: str
    css: str
    reasons: tuple[str, ...]


def load_part(store: LedgerStore, serial: str) -> PartRecords:
    """The part's certificate, later records, raw samples and dossier; UnknownRecordError with
    what to do when the part has no certificate (yet), StoredRecordAlteredError when its
    stored records do not re-derive (ledger/stored.py)."""
    if store.leaf(serial, RecordKind.CERTIFICATE) is None:
        raise _no_certificate(store, serial)
    part = checked_part(store, serial)
    job = store.job_by_serial(serial)
    dossier = store.design(job.design_key)
    if dossier is not None and dossier.dossier_sha256 != job.job.design.dossier_sha256:
        dossier = None
    return PartRecords(
        certificate=part.certificate,
        document=dict(part.document),
        later=part.later,
        samples=store.samples(job.job.job_id),
        dossier=dossier,
    )


def _no_certificate(store: LedgerStore, serial: str) -> UnknownRecordError:
    try:
        state = store.job_by_serial(serial).state
    except UnknownRecordError:
        return UnknownRecordError(
            f"no part with serial {serial} at this site",
            advice="Check the serial (it is printed on the part and listed by the MES) and "
            "that --data-dir / the configuration point at the site that printed it.",
        )
    step = "finish the job" if state is JobState.PRINTING else "issue its certificate"
    return UnknownRecordError(
        f"part {serial} has no certificate yet: its job is {state.value}",
        advice=f"A report is made from a certificate: {step} first, then run the report again.",
    )


def verify_part(part: PartRecords, at: datetime, trust: IssuerTrust) -> VerificationReport:
    """The offline verification of the part's bundle as it would be exported now."""
    return verify_offline(build_bundle(part.certificate, part.later, at), trust=trust)


def part_standing(part: PartRecords, report: VerificationReport) -> Standing:
    """REVOKED, FAIL (certificate or a later inspection) or PASS, with every reason."""
    reasons = [str(r) for r in part.document.get("reasons", [])]
    revocation_row = revocation_record(part)
    if revocation_row is not None:
        revocation = json.loads(revocation_row.body)
        revoked = (
            f"certificate revoked at {revocation['issued_at']} by {revocation['revoked_by']}: "
            f"{revocation['reason']}"
        )
        return Standing("REVOKED", "revoked", (revoked, *reasons))
    reasons += [
        f"later inspection {i['check']}: fail (by {i['inspector']} at {i['at']})"
        for i in _later_inspections(part)
        if i["result"] == Verdict.FAIL.value
    ]
    if report.part_verdict is Verdict.PASS:
        return Standing("PASS", "pass", tuple(reasons))
    return Standing("FAIL", "fail", tuple(reasons))


def revocation_record(part: PartRecords) -> LeafRow | None:
    """The record revoking the part's certificate, if one was issued."""
    return next((row for row in part.later if row.kind is RecordKind.REVOCATION), None)


def _later_inspections(part: PartRecords) -> list[dict[str, Any]]:
    return [
        json.loads(row.body)["inspection"]
        for row in part.later
        if row.kind is RecordKind.INSPECTION
    ]


def window_of(part: PartRecords, name: str) -> ParameterWindow | None:
    """The registered process window of parameter ``name``, when the dossier is kept."""
    return None if part.dossier is None else part.dossier.process_window.get(name)


def seconds_since(timestamp: str, started: datetime) -> float:
    """Seconds from ``started`` to an ISO 8601 ``timestamp`` of the certificate."""
    return (datetime.fromisoformat(timestamp) - started).total_seconds()


def sample_counts(samples: Iterable[Sample]) -> dict[str, int]:
    """How many samples of each parameter the site kept."""
    counts: dict[str, int] = defaultdict(int)
    for sample in samples:
        counts[sample.parameter] += 1
    return counts
