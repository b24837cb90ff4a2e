"""What a verifier checks of a cosigned checkpoint: the log's signature and k of n witnesses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.transparency.checkpoint import Checkpoint
from ledger.transparency.note import (
    COSIGNATURE_V1,
    Note,
    NoteError,
    Verifier,
    verify_note,
)


@dataclass(frozen=True, slots=True)
class CosignedCheckpoint:
    """A checkpoint whose log signature verified, and the known witnesses that cosigned it."""

    checkpoint: Checkpoint
    witnesses: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_cosigned(
    signed_note: str, log: Verifier, witnesses: Sequence[Verifier], quorum: int
) -> CosignedCheckpoint:
    """Verify ``signed_note``: signed by ``log``, cosigned by at least ``quorum`` distinct known
    ``witnesses`` (cosignature/v1). Requires 1 <= quorum <= len(witnesses).

    Raises NoteError when the note or its checkpoint is malformed; a missing or forged
    cosignature is a problem in the answer, as is a checkpoint whose origin is not the log's.
    """
    if not 1 <= quorum <= len(witnesses):
        raise NoteError(f"a quorum of {quorum} of {len(witnesses)} witnesses cannot be met")
    if any(w.signature_type != COSIGNATURE_V1 for w in witnesses):
        raise NoteError("witness keys are cosignature/v1 keys (type 0x04)")
    note = Note.parse(signed_note)
    checkpoint = Checkpoint.parse(note.text)
    problems: list[str] = []
    if checkpoint.origin != log.name:
        problems.append(f"the checkpoint's origin {checkpoint.origin} is not the log {log.name}")
    problems.extend(_problem(note, [log], f"the log {log.name}"))
    cosigners: list[str] = []
    for witness in witnesses:
        lines = [line for line in note.signatures if witness.matches(line)]
        if any(not witness.verify(note.text, line) for line in lines):
            problems.append(f"the cosignature of witness {witness.name} does not verify")
        elif lines and witness.name not in cosigners:
            cosigners.append(witness.name)
    if len(cosigners) < quorum:
        missing = ", ".join(w.name for w in witnesses if w.name not in cosigners)
        problems.append(
            f"{len(cosigners)} of the {quorum} witness cosignatures required; none from {missing}"
        )
    return CosignedCheckpoint(checkpoint, tuple(cosigners), tuple(problems))


def _problem(note: Note, keys: Sequence[Verifier], who: str) -> list[str]:
    """[] when ``keys`` signed ``note``; else why not, naming ``who``."""
    try:
        verify_note(note, keys)
    except NoteError as error:
        if "no signature of a known key" in str(error):
            return [f"no signature of {who}"]
        return [f"the signature of {who} does not verify"]
    return []


def split_view(first: str, second: str, log: Verifier) -> tuple[Checkpoint, Checkpoint] | None:
    """The two checkpoints when both are signed by ``log``, have the same size and differ in
    root: proof that the log showed two histories. None when they do not prove that."""
    checkpoints: list[Checkpoint] = []
    for signed in (first, second):
        note = Note.parse(signed)
        if _problem(note, [log], log.name):
            return None
        checkpoints.append(Checkpoint.parse(note.text))
    a, b = checkpoints
    same_tree = (a.origin, a.size) == (b.origin, b.size)
    return (a, b) if same_tree and a.root != b.root else None
