"""``archive export``: plain files and a manifest of their digests, verifiable offline."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ledger.archive.layout import (
    ANCHORS,
    ARCHIVE_FORMAT,
    CERTIFICATES,
    DOSSIERS,
    EVIDENCE,
    LIFE,
    MANIFEST,
    RECALLS,
    STATEMENTS,
    file_sha256,
)
from ledger.archive.sitelog import LOG_FILE, checkpoint_sizes, log_document
from ledger.billing.commands import STATEMENTS_DIR
from ledger.bundle import build_bundle, bundle_json
from ledger.canonical import JsonObject, canonical_json
from ledger.documents import iso
from ledger.evidence import samples_document
from ledger.recall.campaign_store import CampaignStore
from ledger.recall.campaigns import campaign_document
from ledger.recall.errors import ArchiveError
from ledger.store import LedgerStore
from ledger.stored import checked_part
from models import RecordKind, from_micros


@dataclass(frozen=True, slots=True)
class Exported:
    """What an export wrote: how many parts, recalls and files, and the manifest's digest."""

    folder: Path
    parts: int
    recalls: int
    files: int
    manifest_sha256: str


def export_archive(
    store: LedgerStore,
    campaigns: CampaignStore,
    folder: Path,
    *,
    issuer: str | None = None,
    start: datetime | None = None,
    until: datetime | None = None,
    now: datetime,
    statements: Path | None = None,
) -> Exported:
    """Write every certificate issued in [``start``, ``until``) (default: all) with its later
    records, proofs and anchors, its evidence samples, the dossiers' hashes, the recalls
    opened then, the anchors and the statements kept in ``statements`` (every one), then
    ``manifest.json`` with each file's SHA-256.

    The folder must be new or empty; each stored record is checked as it is read (an altered
    store raises StoredRecordAlteredError and nothing is left half written to look whole).
    """
    _require_empty(folder)
    written: dict[str, Path] = {}
    serials = _serials(store, start, until)
    dossiers: dict[str, JsonObject] = {}
    issuers: set[str] = set()
    sizes: set[int] = set()
    for serial in serials:
        part = checked_part(store, serial, issuer=issuer)
        bundle = build_bundle(part.certificate, part.later, now)
        sizes |= checkpoint_sizes([bundle])
        written[f"{CERTIFICATES}/{serial}.json"] = _write(
            folder / CERTIFICATES / f"{serial}.json", bundle_json(bundle).encode()
        )
        samples = store.samples(store.job_by_serial(serial).job.job_id)
        if samples:
            written[f"{EVIDENCE}/{serial}.samples.json"] = _write(
                folder / EVIDENCE / f"{serial}.samples.json",
                canonical_json(samples_document(samples)),
            )
        issuers.add(str(bundle.certificate.document["issuer"]))
        design = bundle.certificate.document["design"]
        key = f"{design['id']}@{design['revision']}"
        dossiers[key] = {
            "design": design["id"],
            "revision": design["revision"],
            "dossier_sha256": design["dossier_sha256"],
        }
    written[DOSSIERS] = _write_json(folder / DOSSIERS, [dossiers[k] for k in sorted(dossiers)])
    recalls = [
        c
        for c in campaigns.campaigns()
        if (start is None or c.opened_at >= start) and (until is None or c.opened_at < until)
    ]
    for campaign in recalls:
        document = campaign_document(campaign, campaigns.parts(campaign.id))
        document["criteria"] = json.loads(campaign.criteria)
        written[f"{RECALLS}/{campaign.id}.json"] = _write_json(
            folder / RECALLS / f"{campaign.id}.json", document
        )
        written[f"{RECALLS}/{campaign.id}.affected.json"] = _write(
            folder / RECALLS / f"{campaign.id}.affected.json", campaign.affected
        )
    life = [r for r in campaigns.life_events() if r.serial in set(serials)]
    written[LIFE] = _write_json(
        folder / LIFE,
        [
            {
                "serial": r.serial,
                "event": r.event.value,
                "by": r.by,
                "at": iso(r.at),
                "note": r.note,
            }
            for r in life
        ],
    )
    written[ANCHORS] = _write_json(folder / ANCHORS, _anchors(store))
    if (log := log_document(store, sizes)) is not None:
        written[LOG_FILE] = _write_json(folder / LOG_FILE, log)
    for path in _statement_files(statements):
        name = f"{STATEMENTS}/{path.parent.name}/{path.name}"
        written[name] = _write(folder / name, path.read_bytes())
    manifest = {
        "format": ARCHIVE_FORMAT,
        "created_at": iso(now),
        "issuers": sorted(issuers),
        "range": {
            "from": None if start is None else iso(start),
            "until": None if until is None else iso(until),
        },
        "counts": {"parts": len(serials), "recalls": len(recalls)},
        "files": {
            name: {"sha256": file_sha256(path), "bytes": path.stat().st_size}
            for name, path in sorted(written.items())
        },
    }
    manifest_path = _write_json(folder / MANIFEST, manifest)
    return Exported(folder, len(serials), len(recalls), len(written), file_sha256(manifest_path))


def site_statements(data_dir: Path) -> Path:
    """Where a site keeps its statements (see ledger/billing/commands.py)."""
    return data_dir / STATEMENTS_DIR


def _statement_files(statements: Path | None) -> list[Path]:
    """Every month's statement of every design revision, by folder and month."""
    if statements is None or not statements.is_dir():
        return []
    return sorted(statements.glob("*/????-??.json"))


def _require_empty(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise ArchiveError(
            f"{folder} is not empty", advice="Export an archive into a new or empty folder."
        )
    folder.mkdir(parents=True, exist_ok=True)


def _serials(store: LedgerStore, start: datetime | None, until: datetime | None) -> list[str]:
    """Parts whose certificate was issued in [start, until), by serial."""
    serials = []
    for row in store.parts():
        leaf = store.leaf(row.job.serial, RecordKind.CERTIFICATE) if row.certified else None
        if leaf is None:
            continue
        issued = from_micros(leaf.created_us)
        if (start is None or issued >= start) and (until is None or issued < until):
            serials.append(row.job.serial)
    return serials


def _anchors(store: LedgerStore) -> list[JsonObject]:
    return [
        {
            "root": batch.root.hex(),
            "size": batch.size,
            "receipt": None if batch.receipt is None else batch.receipt.model_dump(mode="json"),
        }
        for batch in store.batches()
    ]


def _write_json(path: Path, value: object) -> Path:
    return _write(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def _write(path: Path, content: bytes) -> Path:
    """Write ``content`` whole (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    os.replace(partial, path)
    return path
