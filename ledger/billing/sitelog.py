"""A statement's anchors as site-log checkpoints, each consistent with the one before it."""

# A month's anchors are checkpoints of the site's one log (when they were sealed into it). The
# statement carries each one's signed checkpoint (with the cosignatures received by then) and
# the RFC 6962 consistency proof from the checkpoint before it: the previous anchor of the
# month, or for the first the last checkpoint of the previous statement. The OEM then checks,
# offline, that the month's anchors, and month after month, are one append-only history.

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledger.canonical import JsonObject, JsonValue
from ledger.merkle import verify_consistency
from ledger.sitelog import SiteLogStore, consistency_chain
from ledger.tables import BatchRow
from ledger.transparency import Checkpoint, Note, NoteError


def add_checkpoints(
    store: SiteLogStore,
    anchors: Sequence[JsonObject],
    batches: Mapping[str, BatchRow],
    previous: JsonObject | None,
) -> None:
    """Give each anchor (in block order) whose batch is a checkpoint its signed checkpoint and
    the consistency proof from the checkpoint before it (``previous``: the previous statement's
    document, whose last checkpoint the first proof starts from)."""
    logged = sorted(
        ((a, batches[str(a["root"])]) for a in anchors if str(a["root"]) in batches),
        key=lambda pair: pair[1].size,
    )
    if not logged:
        return
    start = last_checkpoint_size(previous) if previous is not None else 0
    proofs = consistency_chain(store, [b.size for _, b in logged], start)
    before = start
    for (anchor, batch), proof in zip(logged, proofs, strict=True):
        anchor["checkpoint"] = batch.checkpoint
        anchor["consistency_from"] = before
        anchor["consistency"] = [p.hex() for p in proof]
        before = batch.size


def last_checkpoint_size(document: JsonObject) -> int:
    """The size of the last checkpoint a statement document's anchors carry (0: none)."""
    sizes = [c.size for c in _checkpoints(document)]
    return sizes[-1] if sizes else 0


def check_log(document: JsonObject, previous: JsonObject | None = None) -> str:
    """That each anchor carrying a checkpoint is that checkpoint's root and extends the one
    before (and the previous statement's last, when ``previous`` is given). Raises NoteError
    or ProofError saying what did not hold."""
    anchors = [a for a in _anchors(document) if "checkpoint" in a]
    if not anchors:
        return "no site-log checkpoints (anchored before the site log)"
    roots: dict[int, bytes] = {c.size: c.root for c in _checkpoints(previous or {})}
    unchecked = 0
    for anchor in anchors:
        checkpoint = Checkpoint.parse(Note.parse(str(anchor["checkpoint"])).text)
        if checkpoint.root.hex() != str(anchor["root"]):
            raise NoteError(f"anchor {anchor['root']} carries the checkpoint of another root")
        old = _int(anchor["consistency_from"])
        proof = [bytes.fromhex(str(p)) for p in _list(anchor["consistency"])]
        if old in roots:
            verify_consistency(old, checkpoint.size, roots[old], checkpoint.root, proof)
        elif old:
            unchecked += 1  # the previous statement's last checkpoint was not given
        roots[checkpoint.size] = checkpoint.root
    tail = (
        f"; the first, from size {_int(anchors[0]['consistency_from'])}, needs the previous "
        "statement"
        if unchecked
        else ""
    )
    return f"{len(anchors)} checkpoint(s) of one append-only log (RFC 6962 proofs){tail}"


def _checkpoints(document: JsonObject) -> list[Checkpoint]:
    return [
        Checkpoint.parse(Note.parse(str(a["checkpoint"])).text)
        for a in _anchors(document)
        if "checkpoint" in a
    ]


def _anchors(document: JsonObject) -> list[JsonObject]:
    proof = document.get("proof")
    anchors = proof.get("anchors") if isinstance(proof, dict) else None
    return [a for a in anchors if isinstance(a, dict)] if isinstance(anchors, list) else []


def _int(value: JsonValue) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise NoteError(f"{value!r} is not a tree size")
    return value


def _list(value: JsonValue) -> list[JsonValue]:
    if not isinstance(value, list):
        raise NoteError("a consistency proof is a list of hex hashes")
    return value
