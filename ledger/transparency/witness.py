"""A C2SP tlog-witness: cosigns a log's checkpoint only when it extends the last one it cosigned."""

# add-checkpoint (c2sp.org/tlog-witness): the request body is "old <size>\n", up to 63 base64
# consistency proof lines, a blank line, then the signed checkpoint. Each answer is a status and
# a body; the HTTP layer only carries them. The witness keeps, per log origin, the signed
# checkpoint it last cosigned, and writes it to disk (fsync, rename) before it answers, under one
# lock, so two requests can never roll the log back. A checkpoint of the same size with another
# root, or one whose proof does not lead from the cosigned tree, is refused and kept as evidence
# of a split view, both checkpoints signed by the log.

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.errors import ProofError
from ledger.merkle import verify_consistency
from ledger.transparency.checkpoint import Checkpoint
from ledger.transparency.note import Note, NoteError, Signer, Verifier, verify_note

MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT = "text/plain; charset=utf-8"
_OLD = re.compile(r"old (0|[1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class WitnessAnswer:
    """What the witness answers: an HTTP status, a body and its content type."""

    status: int
    body: str
    content_type: str = TEXT


@dataclass(frozen=True, slots=True)
class SplitView:
    """Evidence that a log showed two histories: the checkpoint cosigned and the one refused."""

    origin: str
    reason: str
    cosigned: str
    presented: str


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """A parsed add-checkpoint request."""

    old_size: int
    proof: tuple[bytes, ...]
    note: Note
    checkpoint: Checkpoint

    def render(self) -> str:
        """The request body a log sends (tlog-witness, add-checkpoint)."""
        if len(self.proof) > MAX_PROOF_LINES:
            raise NoteError(f"add-checkpoint: at most {MAX_PROOF_LINES} proof lines")
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return "".join(f"{line}\n" for line in lines) + "\n" + self.note.render()

    @classmethod
    def parse(cls, body: str) -> AddCheckpoint:
        """The request body; NoteError saying what is malformed."""
        head, separator, signed = body.partition("\n\n")
        if not separator:
            raise NoteError("add-checkpoint: the old size and proof end with a blank line")
        lines = head.split("\n")
        match = _OLD.fullmatch(lines[0])
        if match is None:
            raise NoteError("add-checkpoint: the first line is 'old <size>'")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise NoteError(f"add-checkpoint: at most {MAX_PROOF_LINES} proof lines")
        try:
            proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
        except binascii.Error as error:
            raise NoteError("add-checkpoint: a proof line is not base64") from error
        note = Note.parse(signed)
        return cls(int(match[1]), proof, note, Checkpoint.parse(note.text))


@dataclass(slots=True)
class WitnessState:
    """Per origin, the signed checkpoint last cosigned; the split views seen."""

    latest: dict[str, str]
    evidence: list[SplitView]

    @classmethod
    def load(cls, path: Path) -> WitnessState:
        if not path.exists():
            return cls({}, [])
        data = json.loads(path.read_text("utf-8"))
        evidence = [SplitView(**item) for item in data.get("evidence", [])]
        return cls(dict(data.get("latest", {})), evidence)

    def save(self, path: Path) -> None:
        """Write the state atomically: temp file, fsync, rename, fsync of the folder."""
        data = {"latest": self.latest, "evidence": [asdict(item) for item in self.evidence]}
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


class Witness:
    """Answers add-checkpoint for the logs it knows, cosigning with ``signer`` (type 0x04)."""

    def __init__(
        self,
        signer: Signer,
        logs: Mapping[str, Sequence[Verifier]],
        state_path: Path,
        clock: Callable[[], int],
    ) -> None:
        self.signer = signer
        self._logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self._path = state_path
        self._clock = clock
        self._lock = threading.Lock()
        self.state = WitnessState.load(state_path)

    def add_checkpoint(self, body: str) -> WitnessAnswer:
        """tlog-witness add-checkpoint; persisted before a cosignature is returned."""
        try:
            request = AddCheckpoint.parse(body)
        except NoteError as error:
            return WitnessAnswer(400, f"{error}\n")
        keys = self._logs.get(request.checkpoint.origin)
        if keys is None:
            return WitnessAnswer(404, f"unknown log {request.checkpoint.origin}\n")
        try:
            verify_note(request.note, keys)
        except NoteError as error:
            return WitnessAnswer(403, f"{error}\n")
        with self._lock:
            return self._check_and_cosign(request)

    def _check_and_cosign(self, request: AddCheckpoint) -> WitnessAnswer:
        new = request.checkpoint
        if request.old_size > new.size:
            return WitnessAnswer(400, "old size is larger than the checkpoint size\n")
        cosigned_text = self.state.latest.get(new.origin)
        cosigned = Checkpoint.parse(Note.parse(cosigned_text).text) if cosigned_text else None
        latest_size = cosigned.size if cosigned is not None else 0
        if request.old_size != latest_size:
            return WitnessAnswer(409, f"{latest_size}\n", SIZE_CONTENT_TYPE)
        if new.size == 0 and not new.is_empty_tree:
            return WitnessAnswer(422, "a checkpoint of size 0 has the empty tree's root\n")
        refusal = self._inconsistency(cosigned, new, request.proof)
        if refusal is not None:
            forked = cosigned is not None and (cosigned.size, cosigned.root) != (new.size, new.root)
            if forked and cosigned_text is not None:
                self._keep_evidence(new.origin, refusal, cosigned_text, request.note.render())
            return WitnessAnswer(422, f"{refusal}\n")
        self.state.latest[new.origin] = request.note.render()
        self.state.save(self._path)
        cosignature = self.signer.sign(request.note.text, self._clock())
        return WitnessAnswer(200, cosignature.line())

    @staticmethod
    def _inconsistency(
        cosigned: Checkpoint | None, new: Checkpoint, proof: Sequence[bytes]
    ) -> str | None:
        """Why ``new`` does not extend ``cosigned`` (None when it does)."""
        if cosigned is None:
            return "the first checkpoint of a log comes with no proof" if proof else None
        try:
            verify_consistency(cosigned.size, new.size, cosigned.root, new.root, proof)
        except ProofError as error:
            if cosigned.size == new.size and cosigned.root != new.root:
                return f"split view: two checkpoints of size {new.size} with different roots"
            return f"not consistent with the cosigned checkpoint of size {cosigned.size}: {error}"
        return None

    def _keep_evidence(self, origin: str, reason: str, cosigned: str, presented: str) -> None:
        self.state.evidence.append(SplitView(origin, reason, cosigned, presented))
        self.state.save(self._path)
