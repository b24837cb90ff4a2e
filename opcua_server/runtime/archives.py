"""Archives across the site: check one offline (and its anchors online), prune what is archived."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from config import Settings
from ledger import LedgerStore, archive, recall, verify_bundle_file


@dataclass
class ArchiveVerdict:
    """An archive's check: documents checked, problems (each naming its file), notes."""

    folder: Path
    documents: int
    trust_note: str
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    online: bool = False

    @property
    def valid(self) -> bool:
        return not self.problems

    def render(self) -> str:
        mode = "offline and online" if self.online else "offline"
        head = (
            f"VALID: archive {self.folder}: {self.documents} document(s) and their proofs hold "
            f"({mode})"
            if self.valid
            else f"INVALID: archive {self.folder}: {len(self.problems)} problem(s)"
        )
        lines = [head, f"  trusted: {self.trust_note}"]
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


async def verify_archive(
    folder: Path,
    *,
    issuers: Path | None = None,
    any_issuer: bool = False,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> ArchiveVerdict:
    """Check ``folder`` with no database and no network; given ``settings``, also check each
    proof bundle's anchors against the configured chain."""
    trust, note = archive.archive_trust(folder, issuers, any_issuer=any_issuer)
    report = await asyncio.to_thread(archive.check_archive, folder, trust)
    verdict = ArchiveVerdict(folder, report.documents, note, report.problems, report.notes)
    if settings is not None:
        verdict.online = True
        for name in sorted(report.bundles):
            await _check_online(
                folder / name, name, settings, issuers, any_issuer, environ, verdict
            )
    return verdict


async def _check_online(
    path: Path,
    name: str,
    settings: Settings,
    issuers: Path | None,
    any_issuer: bool,
    environ: Mapping[str, str] | None,
    verdict: ArchiveVerdict,
) -> None:
    result = await verify_bundle_file(
        path, settings, offline=False, issuers=issuers, trust_any_issuer=any_issuer, environ=environ
    )
    assert result.report is not None
    for check in result.report.checks:
        if not check.passed and check.name not in archive.STATUS_CHECKS | {"revocation on chain"}:
            verdict.problems.append(f"{name}: online: {check.name}: {check.detail}")


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune deleted, and the moment before which samples went (None: no archive yet,
    so nothing may go)."""

    jobs: int
    samples: int
    before: datetime | None


def prune_samples(settings: Settings, now: datetime) -> Pruned | None:
    """Delete the process samples of certified parts built more than
    ``archive.samples_retention_days`` ago and already held by an archive export; None when no
    retention is set. Certificates and their evidence digests are never touched."""
    days = settings.archive.samples_retention_days
    if days is None:
        return None
    data_dir = Path(settings.data_dir)
    campaigns = recall.CampaignStore(data_dir / recall.RECALLS_FILE)
    store = LedgerStore(data_dir / settings.ledger.sqlite_file)
    try:
        archived = campaigns.archived_until()
        cutoff = now - timedelta(days=days)
        before = cutoff if archived is None else min(cutoff, archived)
        if archived is None:
            return Pruned(0, 0, None)
        jobs, samples = store.prune_samples(before)
        return Pruned(jobs, samples, before)
    finally:
        store.close()
        campaigns.close()
