"""C2SP tlog-checkpoint: a log's origin, tree size and RFC 6962 root as note text."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from functools import lru_cache

from ledger.merkle import EMPTY_ROOT
from ledger.transparency.note import NoteError

_SIZE = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: origin line, tree size, root hash, optional extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("a checkpoint origin is one non-empty line")
        if self.size < 0 or len(self.root) != 32:
            raise NoteError("a checkpoint has a size >= 0 and a 32-byte root")
        if any(not line or "\n" in line for line in self.extensions):
            raise NoteError("checkpoint extension lines are non-empty single lines")

    @property
    def is_empty_tree(self) -> bool:
        """Size 0 with the empty tree's root (RFC 6962 §2.1), as a witness requires."""
        return self.size == 0 and self.root == EMPTY_ROOT

    def text(self) -> str:
        """The note text (tlog-checkpoint, Note text)."""
        root = base64.b64encode(self.root).decode()
        return "".join(
            f"{line}\n" for line in (self.origin, str(self.size), root, *self.extensions)
        )

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """A checkpoint from note text; NoteError naming the line that is wrong (checkpoints
        are immutable: one parsed recently is given again)."""
        return _parsed_checkpoint(text)

    @classmethod
    def _parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("a checkpoint is at least three lines, each ending in a newline")
        origin, size, root, *extensions = lines[:-1]
        if not _SIZE.fullmatch(size):
            raise NoteError(f"checkpoint size {size!r} is not a decimal without leading zeros")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error as error:
            raise NoteError(f"checkpoint root {root!r} is not base64") from error
        return cls(origin, int(size), digest, tuple(extensions))


@lru_cache(maxsize=256)
def _parsed_checkpoint(text: str) -> Checkpoint:
    return Checkpoint._parse(text)
