"""What the ledger's CLI commands do, as functions returning their output and exit code."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config import Settings
from ledger.batcher import BatchPolicy
from ledger.bundle import build_bundle, bundle_json, read_bundle
from ledger.errors import BundleError, LedgerError, TrustedIssuersError
from ledger.logchecks import WitnessPolicy
from ledger.service import LedgerService
from ledger.sitechain import open_site_chain
from ledger.store import LedgerStore
from ledger.stored import checked_part
from ledger.tables import LeafRow
from ledger.trust import IssuerTrust, parse_issuers
from ledger.verify import ISSUER_CHECKS, issuer_untrusted, malformed, verify_offline, verify_online
from ledger.witnessing import configured_witnesses, site_log_of
from models import (
    Clock,
    ExitCode,
    ProofBundle,
    RecordKind,
    SystemClock,
    Verdict,
    VerificationReport,
)

if TYPE_CHECKING:
    from ledger.anchorheaders import PinnedValidators


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command prints on standard output, and the exit code it ends with."""

    exit_code: int
    output: str
    report: VerificationReport | None = None


def ledger_store(settings: Settings) -> LedgerStore:
    """The site's ledger store, ``<data_dir>/<ledger.sqlite_file>``."""
    return LedgerStore(settings.data_dir / settings.ledger.sqlite_file)


def designs_dir(settings: Settings) -> Path:
    """Where the site keeps design folders (``ledger.designs_dir``, relative to data_dir)."""
    folder = settings.ledger.designs_dir
    return folder if folder.is_absolute() else settings.data_dir / folder


def batch_policy(settings: Settings) -> BatchPolicy:
    """The sealing policy from ``ledger.batch_max_size`` and ``ledger.batch_max_age_s``."""
    return BatchPolicy(
        settings.ledger.batch_max_size, timedelta(seconds=settings.ledger.batch_max_age_s)
    )


@contextmanager
def _store(settings: Settings) -> Iterator[LedgerStore]:
    store = ledger_store(settings)
    try:
        yield store
    finally:
        store.close()


@asynccontextmanager
async def open_ledger(
    settings: Settings, environ: Mapping[str, str] | None = None, clock: Clock | None = None
) -> AsyncIterator[LedgerService]:
    """The site's ledger service on its store and chain, reconciled, closed on exit."""
    with _store(settings) as store:
        async with open_site_chain(settings, environ) as site:
            assert site.key is not None
            service = LedgerService(
                store,
                site.key,
                clock=clock or SystemClock(),
                policy=batch_policy(settings),
                designs_dir=designs_dir(settings),
                chain=site.client,
                trusted_issuers=settings.ledger.trusted_issuers,
                public_base_url=settings.ledger.public_base_url,
                log=site_log_of(settings, os.environ if environ is None else environ),
            )
            await service.reconcile()
            yield service


async def design_register(
    settings: Settings,
    folder: Path,
    *,
    licensee: str | None = None,
    quota: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> CommandResult:
    """``trustfloor design register DIR [--licence ADDRESS=QUOTA]``: the OEM registers a dossier."""
    async with open_ledger(settings, environ) as ledger:
        done = await ledger.register_design(folder, licensee=licensee, quota=quota)
    dossier = done.dossier
    lines = [
        f"design {dossier.id} revision {dossier.revision}",
        f"  dossier    {dossier.dossier_sha256} ({len(dossier.files)} files, "
        f"{len(dossier.process_window)} process parameters)",
        f"  key        0x{done.design_key.hex()}",
        "  chain      already registered with this dossier"
        if done.already_registered
        else f"  chain      registered by {done.tx_hash}",
    ]
    if done.licence is not None:
        lines.append(f"  licence    {done.licence[1]} pieces for {done.licence[0]}")
    return CommandResult(ExitCode.OK, "\n".join(lines) + "\n")


def certificate_show(settings: Settings, serial: str) -> CommandResult:
    """``trustfloor certificate show SERIAL``: the certificate and where it stands.

    StoredRecordAlteredError, and nothing shown, when the stored records do not re-derive.
    """
    with _store(settings) as store:
        part = checked_part(store, serial)
    return CommandResult(ExitCode.OK, render_certificate(part.certificate, part.later))


def certificate_export(
    settings: Settings, serial: str, clock: Clock | None = None
) -> CommandResult:
    """``trustfloor certificate export SERIAL > bundle.json``: the part's proof bundle.

    StoredRecordAlteredError, and no bundle, when the stored records do not re-derive.
    """
    with _store(settings) as store:
        part = checked_part(store, serial)
    bundle = build_bundle(part.certificate, part.later, (clock or SystemClock()).now())
    return CommandResult(ExitCode.OK, bundle_json(bundle))


async def verify_bundle_file(
    path: Path,
    settings: Settings,
    *,
    offline: bool,
    issuers: Path | None = None,
    trust_any_issuer: bool = False,
    environ: Mapping[str, str] | None = None,
    witnesses: WitnessPolicy | None = None,
    validators: PinnedValidators | None = None,
) -> CommandResult:
    """``trustfloor verify bundle.json [--offline] [--issuers FILE | --trust-any-issuer]``: the
    verdict, each check and an exit code. A format 2 bundle's checkpoints need the quorum of
    ``witnesses`` (default: ``ledger.witnesses`` and ``ledger.witness_quorum``); with
    ``validators`` each anchor needs a QBFT header they sealed (``--validators FILE``).

    Exit 0: authentic, anchored, not revoked, issued by a trusted issuer and the part passed;
    3: not (tampered, not anchored, revoked: the output says which check failed); 4: authentic
    but the part failed; 5: intact but the issuer is not trusted. The trusted issuers are those
    of ``issuers`` (see ledger/trust.py for the file's format), else ``ledger.trusted_issuers``;
    offline with none, the issuer is not checked (5) unless ``trust_any_issuer``. Online, the
    chain and the trusted ledger are the configuration's (``chain.*``) and its allow-list
    decides, narrowed by the pinned issuers when there are any.
    """
    trust = verifier_trust(settings, issuers, trust_any_issuer=trust_any_issuer)
    bundle = read_bundle_file(path)
    if isinstance(bundle, VerificationReport):
        return verdict(bundle)
    policy = witnesses or configured_witnesses(settings)
    if offline:
        report = verify_offline(bundle, trust=trust, witnesses=policy, validators=validators)
    else:
        async with open_site_chain(settings, environ or os.environ, read_only=True) as site:
            report = await verify_online(
                bundle, site.client, trust=trust, witnesses=policy, validators=validators
            )
    return verdict(report)


def read_bundle_file(path: Path) -> ProofBundle | VerificationReport:
    """The bundle in ``path``, or the report on a file that holds none; BundleError when the
    file cannot be read (a failure, not a verdict)."""
    text = _read_file(path, BundleError)
    try:
        return read_bundle(text)
    except BundleError as exc:
        return malformed(str(exc))


def verdict(report: VerificationReport) -> CommandResult:
    """A verification's report as the command gives it: its exit code and text."""
    return CommandResult(exit_code(report), render_report(report), report)


def verifier_trust(
    settings: Settings, issuers: Path | None, *, trust_any_issuer: bool = False
) -> IssuerTrust:
    """The issuers pinned by the ``issuers`` file, else by ``ledger.trusted_issuers``."""
    if issuers is None:
        addresses, source = settings.ledger.trusted_issuers, "ledger.trusted_issuers"
    else:
        text = _read_file(issuers, TrustedIssuersError).decode("utf-8", "replace")
        addresses, source = parse_issuers(text, str(issuers)), str(issuers)
    return IssuerTrust.pinning(addresses, any_issuer=trust_any_issuer, source=source)


def _read_file(path: Path, error: type[LedgerError]) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {path}: {exc}") from exc


def exit_code(report: VerificationReport) -> ExitCode:
    """0 valid and passed, 3 not valid, 4 valid but the part failed, 5 issuer not trusted."""
    if issuer_untrusted(report):
        return ExitCode.ISSUER_UNTRUSTED
    if not report.valid:
        return ExitCode.INVALID
    return ExitCode.PART_REJECTED if report.part_verdict is Verdict.FAIL else ExitCode.OK


def render_report(report: VerificationReport) -> str:
    """The verdict first, then any warning, then every check with ✓ or ✗ and its finding."""
    part = f"part {report.serial}" if report.serial else "bundle"
    if report.valid:
        verdict = report.part_verdict.value.upper() if report.part_verdict else "UNKNOWN"
        head = f"VALID: {part} is certified, verdict {verdict} ({report.mode} verification)"
    elif issuer_untrusted(report):
        finding = next(c.detail for c in report.checks if c.name in ISSUER_CHECKS and not c.passed)
        head = f"UNTRUSTED: {part}: signature valid, {finding} ({report.mode} verification)"
    else:
        head = f"INVALID: {part} failed {report.mode} verification: {report.reasons[0]}"
    lines = [head, *(f"  WARNING: {warning}" for warning in report.warnings)]
    lines += [f"  {'✓' if c.passed else '✗'} {c.name}: {c.detail}" for c in report.checks]
    if report.mode == "offline" and report.valid:
        lines.append("  (offline: the anchor, allow-list and revocation were not read from chain)")
    return "\n".join(lines) + "\n"


def render_certificate(certificate: LeafRow, later: list[LeafRow]) -> str:
    """A quality engineer's view of a certificate, its evidence and its anchoring."""
    doc = json.loads(certificate.body)
    evidence, design = doc["evidence"], doc["design"]
    lines = [
        f"part {doc['serial']}: verdict {doc['verdict'].upper()}",
        f"  design       {design['id']} revision {design['revision']} "
        f"(dossier {design['dossier_sha256']})",
        f"  printed      on {doc['printer']} for order {doc['order']} (job {doc['job']}), "
        f"material lot {doc['material_lot']}",
        f"  evidence     {evidence['samples']} samples {evidence['started_at']} .. "
        f"{evidence['ended_at']}, layers {evidence['layers']['done']}/"
        f"{evidence['layers']['planned']}: {evidence['verdict']}",
        *(_parameter_line(name, p) for name, p in evidence["parameters"].items()),
        f"  samples      sha256 {evidence['samples_sha256']}",
        *(
            f"  inspection   {i['check']}: {i['result']} by {i['inspector']} at {i['at']}"
            for i in doc["inspections"]
        ),
    ]
    if "health" in doc:
        health = doc["health"]
        lines.append(f"  health       {health['score']} (model {health['model_version']})")
    lines += [f"  reason       {r}" for r in doc.get("reasons", [])]
    lines += [
        f"  issued       {doc['issued_at']} by {doc['issuer']}",
        f"  leaf         {certificate.leaf_hash.hex()}",
        f"  status       {_status(certificate)}",
    ]
    lines += [f"  later        {_later_line(r)}" for r in later]
    return "\n".join(lines) + "\n"


def _parameter_line(name: str, stats: dict[str, Any]) -> str:
    count = stats.get("excursions_total", len(stats["excursions"]))
    return (
        f"    {name:<24} min {stats['min']} max {stats['max']} mean {stats['mean']} "
        f"std {stats['std']}, {stats['out_of_window_s']} s out of window, {count} excursion(s)"
    )


def _status(row: LeafRow) -> str:
    if row.batch is None:
        return "waiting for a batch"
    if row.batch.receipt is None:
        return f"sealed in batch {row.batch.id} (root {row.batch.root.hex()}), not anchored yet"
    receipt = row.batch.receipt
    return (
        f"anchored: leaf {row.leaf_index} of {receipt.size}, root {receipt.root}, "
        f"tx {receipt.tx_hash} block {receipt.block_number} chain {receipt.chain_id} "
        f"contract {receipt.contract}"
    )


def _later_line(row: LeafRow) -> str:
    doc = json.loads(row.body)
    if row.kind is RecordKind.REVOCATION:
        what = f"REVOKED by {doc['revoked_by']}: {doc['reason']}"
    else:
        inspection = doc["inspection"]
        what = (
            f"inspection {inspection['check']}: {inspection['result']} by {inspection['inspector']}"
        )
    return f"{doc['issued_at']} {what} ({_status(row)})"
