"""Checking a bundle's site-log checkpoints: the site's signature, the tree, k of n witnesses."""

# A format 2 bundle's records each carry the signed checkpoint their inclusion proof leads to.
# Offline a verifier checks that the checkpoint is the proof's tree (size and root), that the
# site's log key (the bundle's log_key, named by the checkpoint's origin) signed it, and that at
# least `quorum` of the witnesses it pins cosigned it (cosignature/v1). Witnesses check the
# site's signature and the log's consistency before they cosign, so a quorum of pinned witnesses
# is what makes the checkpoint trustworthy; the log key in the bundle alone proves nothing.
# Format 1 bundles (sealed before the site log) carry no checkpoint and verify as they did.
# Two bundles whose checkpoints have one origin and size but different roots, both signed by the
# site, prove a split view: the log showed two histories.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.transparency import (
    COSIGNATURE_V1,
    Checkpoint,
    Note,
    NoteError,
    Verifier,
    check_cosigned,
    split_view,
)
from models import AttestedRecord, ProofBundle, VerificationCheck

FORMAT_2 = "trustfloor.bundle/2"


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """The witnesses a verifier pins and how many must have cosigned a checkpoint."""

    witnesses: tuple[Verifier, ...] = ()
    quorum: int = 0
    source: str = "ledger.witnesses"

    def __post_init__(self) -> None:
        if not 0 <= self.quorum <= len(self.witnesses):
            raise NoteError(
                f"a quorum of {self.quorum} of {len(self.witnesses)} witnesses cannot be met",
                advice="pin at least as many witnesses as the quorum (--witnesses FILE)",
            )
        if any(w.signature_type != COSIGNATURE_V1 for w in self.witnesses):
            raise NoteError("witness keys are cosignature/v1 keys (type 0x04)")


NO_WITNESSES = WitnessPolicy()


def parse_witness_keys(text: str, source: str) -> tuple[Verifier, ...]:
    """Witness keys, one a line: ``<name> <verifier key>`` or the verifier key alone; ``#``
    starts a comment. NoteError naming the line that is wrong."""
    keys: list[Verifier] = []
    for number, raw in enumerate(text.splitlines(), 1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2:
            raise NoteError(f"{source} line {number}: '<name> <verifier key>' or the key alone")
        try:
            keys.append(Verifier.from_vkey(words[-1]))
        except NoteError as exc:
            raise NoteError(f"{source} line {number}: {exc}") from None
    return tuple(keys)


def log_checks(
    bundle: ProofBundle, policy: WitnessPolicy
) -> tuple[list[VerificationCheck], tuple[str, ...]]:
    """The checkpoint checks of every record, and the warnings to give."""
    labelled = [("certificate", bundle.certificate)]
    labelled += [(f"record {n} ({r.kind.value})", r) for n, r in enumerate(bundle.records, 1)]
    if bundle.format != FORMAT_2:
        stray = [
            VerificationCheck(f"{label} checkpoint", False, "a format 1 bundle has no checkpoint")
            for label, record in labelled
            if record.checkpoint is not None
        ]
        warnings = (
            ("sealed before the site log (bundle format 1): no witness cosignatures to check",)
            if policy.quorum
            else ()
        )
        return stray, warnings
    log = _log_key(bundle)
    checks: list[VerificationCheck] = []
    for label, record in labelled:
        checks += record_log_checks(label, record, log, policy)
    return checks, ()


def _log_key(bundle: ProofBundle) -> Verifier | str:
    """The bundle's log key, or why there is none to use."""
    if bundle.log_key is None:
        return "the bundle names no log key"
    try:
        return Verifier.from_vkey(bundle.log_key)
    except NoteError as exc:
        return f"the bundle's log key is malformed: {exc}"


def record_log_checks(
    label: str, record: AttestedRecord, log: Verifier | str, policy: WitnessPolicy
) -> list[VerificationCheck]:
    """The checkpoint of one record: its tree, the site's signature, then the witnesses."""
    name = f"{label} checkpoint"
    if record.checkpoint is None:
        return [VerificationCheck(name, False, "no checkpoint: the record was not sealed")]
    if isinstance(log, str):
        return [VerificationCheck(name, False, log)]
    try:
        note = Note.parse(record.checkpoint)
        checkpoint = Checkpoint.parse(note.text)
    except NoteError as exc:
        return [VerificationCheck(name, False, f"malformed: {exc}")]
    problem = _tree_problem(record, checkpoint) or _site_problem(note, checkpoint, log)
    if problem:
        return [VerificationCheck(name, False, problem)]
    detail = f"{checkpoint.origin} size {checkpoint.size}, signed by the site's log key"
    return [VerificationCheck(name, True, detail), _witness_check(label, record, log, policy)]


def _tree_problem(record: AttestedRecord, checkpoint: Checkpoint) -> str:
    proof = record.proof
    if proof is None:
        return ""
    if (checkpoint.size, checkpoint.root.hex()) != (proof.tree_size, proof.root):
        return (
            f"the checkpoint is the tree of size {checkpoint.size} with root "
            f"{checkpoint.root.hex()}, the proof's is size {proof.tree_size} root {proof.root}"
        )
    return ""


def _site_problem(note: Note, checkpoint: Checkpoint, log: Verifier) -> str:
    if checkpoint.origin != log.name:
        return f"the checkpoint's origin {checkpoint.origin} is not the log key's {log.name}"
    lines = [s for s in note.signatures if log.matches(s)]
    if not lines:
        return f"no signature of the site log {log.name}"
    if not all(log.verify(note.text, s) for s in lines):
        return f"the signature of the site log {log.name} does not verify"
    return ""


def _witness_check(
    label: str, record: AttestedRecord, log: Verifier, policy: WitnessPolicy
) -> VerificationCheck:
    name = f"{label} witnesses"
    assert record.checkpoint is not None
    if policy.quorum == 0:
        count = len(Note.parse(record.checkpoint).signatures) - 1
        return VerificationCheck(
            name, True, f"no witness quorum required; {count} cosignature line(s) not checked"
        )
    verdict = check_cosigned(record.checkpoint, log, policy.witnesses, policy.quorum)
    if not verdict.ok:
        return VerificationCheck(name, False, "; ".join(verdict.problems))
    detail = (
        f"cosigned by {', '.join(verdict.witnesses)}: {len(verdict.witnesses)} of the "
        f"{len(policy.witnesses)} witnesses of {policy.source}, {policy.quorum} required"
    )
    return VerificationCheck(name, True, detail)


@dataclass(frozen=True, slots=True)
class SplitViewEvidence:
    """Two checkpoints of one log and size with different roots, both signed by the site."""

    origin: str
    size: int
    first: str
    """The first signed checkpoint, as its bundle carries it."""
    second: str

    def describe(self) -> str:
        return (
            f"SPLIT VIEW: the log {self.origin} signed two different trees of size {self.size}\n"
            f"--- first signed checkpoint\n{self.first}--- second signed checkpoint\n"
            f"{self.second}"
        )


def split_views(bundles: Sequence[ProofBundle]) -> list[SplitViewEvidence]:
    """Every pair of checkpoints across ``bundles`` that proves the site log forked."""
    seen: dict[tuple[str, int], tuple[str, bytes]] = {}
    found: list[SplitViewEvidence] = []
    for bundle in bundles:
        log = _log_key(bundle)
        if isinstance(log, str):
            continue
        for record in (bundle.certificate, *bundle.records):
            if record.checkpoint is None:
                continue
            try:
                checkpoint = Checkpoint.parse(Note.parse(record.checkpoint).text)
            except NoteError:
                continue
            key = (checkpoint.origin, checkpoint.size)
            if key not in seen:
                seen[key] = (record.checkpoint, checkpoint.root)
            elif seen[key][1] != checkpoint.root:
                first = seen[key][0]
                if split_view(first, record.checkpoint, log) is not None:
                    found.append(SplitViewEvidence(*key, first, record.checkpoint))
    return found
