"""An archive's site-log file: its bundles' checkpoints, each consistent with the one before."""

# The bundles of an archive lead to checkpoints of one site log (bundle format 2). log.json lists
# those checkpoints, smallest first, as the site signed them with the cosignatures received, each
# with the RFC 6962 consistency proof from the checkpoint before it. A reader then knows that
# every archived record belongs to one append-only history: no checkpoint was rewritten between
# two others, and no two bundles show different trees of one size (a split view).

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from ledger.canonical import JsonObject, JsonValue
from ledger.errors import ProofError
from ledger.logchecks import split_views
from ledger.merkle import verify_consistency
from ledger.sitelog import SiteLogStore, consistency_chain
from ledger.transparency import Checkpoint, Note, NoteError
from models import ProofBundle

LOG_FILE = "log.json"


def checkpoint_sizes(bundles: Iterable[ProofBundle]) -> set[int]:
    """The tree sizes of the checkpoints the bundles' records lead to."""
    sizes = set()
    for bundle in bundles:
        for record in (bundle.certificate, *bundle.records):
            if record.checkpoint is not None:
                sizes.add(Checkpoint.parse(Note.parse(record.checkpoint).text).size)
    return sizes


def log_document(store: SiteLogStore, sizes: set[int]) -> JsonObject | None:
    """The log file's document for the checkpoints of ``sizes``; None when there are none."""
    stored = [c for c in store.checkpoints() if c.size in sizes]
    if not stored:
        return None
    proofs = consistency_chain(store, [c.size for c in stored])
    entries: list[JsonValue] = [
        {"checkpoint": c.cosigned_note(), "consistency": [p.hex() for p in proof]}
        for c, proof in zip(stored, proofs, strict=True)
    ]
    return {"checkpoints": entries}


def check_log(path: Path, bundles: Mapping[str, ProofBundle]) -> tuple[list[str], list[str]]:
    """The problems and notes of the archive's log file against its bundles."""
    problems = [
        f"{LOG_FILE}: split view: {fork.origin} signed two trees of size {fork.size}"
        for fork in split_views(list(bundles.values()))
    ]
    sizes = checkpoint_sizes(bundles.values())
    if not path.is_file():
        if sizes:
            problems.append(f"{LOG_FILE}: missing, though the bundles lead to site-log checkpoints")
        return problems, []
    try:
        listed = _listed(path)
    except (ValueError, KeyError, TypeError, NoteError, ProofError) as exc:
        return [*problems, f"{LOG_FILE}: {exc}"], []
    roots = {c.size: c.root for c in listed}
    for name, bundle in bundles.items():
        for record in (bundle.certificate, *bundle.records):
            if record.checkpoint is None:
                continue
            checkpoint = Checkpoint.parse(Note.parse(record.checkpoint).text)
            if roots.get(checkpoint.size) != checkpoint.root:
                problems.append(
                    f"{name}: its checkpoint of size {checkpoint.size} is not the one {LOG_FILE} "
                    "lists"
                )
    note = f"{LOG_FILE}: {len(listed)} checkpoint(s) of one append-only log (RFC 6962 proofs)"
    return problems, [note] if listed else []


def _listed(path: Path) -> list[Checkpoint]:
    """The listed checkpoints, each checked consistent with the one before."""
    document = json.loads(path.read_bytes())
    checkpoints: list[Checkpoint] = []
    for entry in document["checkpoints"]:
        checkpoint = Checkpoint.parse(Note.parse(str(entry["checkpoint"])).text)
        proof = [bytes.fromhex(str(p)) for p in entry["consistency"]]
        if checkpoints:
            before = checkpoints[-1]
            if before.origin != checkpoint.origin:
                raise ValueError(f"checkpoints of two logs: {before.origin}, {checkpoint.origin}")
            verify_consistency(before.size, checkpoint.size, before.root, checkpoint.root, proof)
        checkpoints.append(checkpoint)
    return checkpoints
