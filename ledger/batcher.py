"""When to seal a batch of leaves: by size or by the age of its oldest leaf. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """Seal when ``max_size`` leaves wait, or when the oldest has waited ``max_age``.

    Full batches go first; a partial batch is sealed only once the oldest waiting leaf is old
    enough, so a quiet site still anchors within ``max_age`` and a busy one anchors full trees.
    (With full batches sealed in the same round, the partial one holds younger leaves: sealing
    it early never makes a leaf wait longer.)
    """

    max_size: int
    max_age: timedelta

    def __post_init__(self) -> None:
        if self.max_size < 1:
            raise ValueError(f"max_size must be at least 1, got {self.max_size}")
        if self.max_age <= timedelta(0):
            raise ValueError(f"max_age must be positive, got {self.max_age}")

    def plan(self, pending: int, oldest: datetime | None, now: datetime) -> list[int]:
        """The sizes of the batches to seal now, oldest leaves first (empty: nothing is due).

        ``pending`` leaves wait, the oldest since ``oldest`` (None when nothing waits).
        """
        if pending < 0:
            raise ValueError(f"pending must not be negative, got {pending}")
        full, rest = divmod(pending, self.max_size)
        sizes = [self.max_size] * full
        if rest and oldest is not None and now - oldest >= self.max_age:
            sizes.append(rest)
        return sizes

    def next_due(self, pending: int, oldest: datetime | None) -> datetime | None:
        """When the leaves waiting now will be due by age; None when none wait."""
        if pending == 0 or oldest is None:
            return None
        return oldest + self.max_age
