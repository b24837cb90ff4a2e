"""``archive verify``: files, signatures, proofs, anchors and digests, with no database."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ledger.archive.layout import (
    ANCHORS,
    ARCHIVE_FORMAT,
    CERTIFICATES,
    EVIDENCE,
    MANIFEST,
    RECALLS,
    STATEMENTS,
    STATUS_CHECKS,
    file_sha256,
)
from ledger.archive.sitelog import LOG_FILE, check_log
from ledger.billing import SignedStatement, read_statement, verify_statement_offline
from ledger.bundle import read_bundle
from ledger.errors import BundleError, StatementError
from ledger.recall.errors import ArchiveError
from ledger.trust import IssuerTrust, parse_issuers
from ledger.verify import verify_offline
from models import ProofBundle, RecordKind


@dataclass
class ArchiveReport:
    """What an archive check found: each problem names its file; notes say what stands."""

    documents: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bundles: dict[str, ProofBundle] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems


def read_manifest(folder: Path) -> dict[str, object]:
    """The archive's manifest; ArchiveError when it is missing or not this format."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ArchiveError(
            f"{path}: not a readable manifest ({exc})",
            advice="Give the folder `trustfloor archive export` wrote.",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != ARCHIVE_FORMAT:
        raise ArchiveError(f"{path} is not a {ARCHIVE_FORMAT} manifest")
    return manifest


def archive_trust(
    folder: Path, issuers_file: Path | None = None, *, any_issuer: bool = False
) -> tuple[IssuerTrust, str]:
    """The issuers an archive check pins, and a note saying where they come from: those of
    ``issuers_file`` (see ledger/trust.py), any issuer, or else those the manifest names."""
    if issuers_file is not None:
        try:
            text = issuers_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ArchiveError(f"cannot read {issuers_file}: {exc}") from None
        pinned = parse_issuers(text, str(issuers_file))
        return IssuerTrust.pinning(pinned, source=str(issuers_file)), f"issuers of {issuers_file}"
    if any_issuer:
        return IssuerTrust.pinning([], any_issuer=True), "any issuer (--trust-any-issuer)"
    named = read_manifest(folder).get("issuers")
    if not isinstance(named, list) or not all(isinstance(i, str) for i in named):
        raise ArchiveError(f"{folder / MANIFEST} names no issuers")
    note = (
        f"issuers as the manifest names them ({', '.join(named)}): pass --issuers FILE to pin "
        "the issuers you trust, since whoever can rewrite the archive can rewrite its manifest"
    )
    return IssuerTrust.pinning(named, source="the manifest"), note


def check_archive(folder: Path, trust: IssuerTrust) -> ArchiveReport:
    """Every check an archive allows with no database and no network, issuers pinned by
    ``trust``. A revoked or suspended part is noted, not a problem: its documents hold."""
    manifest = read_manifest(folder)
    report = ArchiveReport()
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArchiveError(f"{folder / MANIFEST} lists no files")
    _check_listed_files(folder, files, report)
    _check_unlisted_files(folder, set(files), report)
    for name in sorted(files):
        if name.startswith(f"{CERTIFICATES}/") and (folder / name).is_file():
            _check_bundle(folder, name, trust, report)
    _check_evidence(folder, files, report)
    _check_recalls(folder, files, report)
    _check_anchors(folder, report)
    _check_statements(folder, files, report)
    problems, notes = check_log(folder / LOG_FILE, report.bundles)
    report.problems += problems
    report.notes += notes
    return report


def _check_listed_files(folder: Path, files: dict[str, object], report: ArchiveReport) -> None:
    for name, entry in sorted(files.items()):
        path = folder / name
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if not path.is_file():
            report.problems.append(f"{name}: missing")
        elif file_sha256(path) != expected:
            report.problems.append(
                f"{name}: altered (its SHA-256 is not the one the manifest lists)"
            )


def _check_unlisted_files(folder: Path, listed: set[str], report: ArchiveReport) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name != MANIFEST and name not in listed:
            report.problems.append(f"{name}: not listed in the manifest")


def _check_bundle(folder: Path, name: str, trust: IssuerTrust, report: ArchiveReport) -> None:
    try:
        bundle = read_bundle((folder / name).read_bytes())
    except BundleError as exc:
        report.problems.append(f"{name}: {exc}")
        return
    report.bundles[name] = bundle
    report.documents += 1 + len(bundle.records)
    verdict = verify_offline(bundle, trust=trust)
    for check in verdict.checks:
        if check.passed:
            continue
        if check.name in STATUS_CHECKS:
            report.notes.append(f"{name}: {check.name}: {check.detail}")
        else:
            report.problems.append(f"{name}: {check.name}: {check.detail}")


def _check_evidence(folder: Path, files: dict[str, object], report: ArchiveReport) -> None:
    """Each samples file hashes to the digest its part's certificate states."""
    for name, bundle in report.bundles.items():
        serial = name.removeprefix(f"{CERTIFICATES}/").removesuffix(".json")
        evidence = f"{EVIDENCE}/{serial}.samples.json"
        if evidence not in files or not (folder / evidence).is_file():
            continue
        stated = bundle.certificate.document.get("evidence", {}).get("samples_sha256")
        if file_sha256(folder / evidence) != stated:
            report.problems.append(
                f"{evidence}: does not hash to the evidence digest {stated} of part {serial}'s "
                "certificate"
            )
        else:
            report.documents += 1


def _check_recalls(folder: Path, files: dict[str, object], report: ArchiveReport) -> None:
    """Each campaign's frozen list hashes to its digest, which its suspension records state."""
    stated: dict[str, set[str]] = {}
    for bundle in report.bundles.values():
        for record in bundle.records:
            if record.kind is RecordKind.SUSPENSION:
                campaign = str(record.document.get("campaign"))
                stated.setdefault(campaign, set()).add(str(record.document.get("affected_sha256")))
    for name in sorted(files):
        if not (name.startswith(f"{RECALLS}/") and name.endswith(".affected.json")):
            continue
        campaign = name.removeprefix(f"{RECALLS}/").removesuffix(".affected.json")
        path = folder / name
        if not path.is_file():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        signed = stated.get(campaign, set())
        if signed and digest not in signed:
            report.problems.append(
                f"{name}: hashes to {digest}, not to the list digest the campaign's signed "
                f"suspension records state ({', '.join(sorted(signed))})"
            )
        else:
            report.documents += 1


def _check_anchors(folder: Path, report: ArchiveReport) -> None:
    """Every receipt in a bundle is one of the archive's anchors."""
    path = folder / ANCHORS
    if not path.is_file():
        return
    try:
        anchors = {str(a["root"]) for a in json.loads(path.read_bytes())}
    except (ValueError, KeyError, TypeError):
        report.problems.append(f"{ANCHORS}: not a list of anchors")
        return
    for name, bundle in report.bundles.items():
        for record in (bundle.certificate, *bundle.records):
            if record.anchor is not None and record.anchor.root not in anchors:
                report.problems.append(
                    f"{name}: anchor root {record.anchor.root} is not among {ANCHORS}"
                )


def _check_statements(folder: Path, files: dict[str, object], report: ArchiveReport) -> None:
    """Each statement's signatures, pieces, root, counts and amount, and its link to the month
    before it (offline checks of ledger/billing/verify.py)."""
    previous: dict[str, SignedStatement] = {}
    for name in sorted(n for n in files if n.startswith(f"{STATEMENTS}/")):
        path = folder / name
        if not path.is_file():
            continue
        design = name.split("/")[1]
        try:
            statement = read_statement(path.read_text(encoding="utf-8"))
        except (StatementError, UnicodeDecodeError) as exc:
            report.problems.append(f"{name}: {exc}")
            continue
        checked = verify_statement_offline(statement, previous.get(design))
        report.problems += [f"{name}: {m}" for m in checked.mismatches]
        report.documents += 1
        previous[design] = statement
