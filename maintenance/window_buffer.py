"""A fleet-wide rolling window: the last samples of every machine, ready for window features."""

# Scoring every tick from raw windows would redo the per-sample preparation (condition
# normalisation) of the whole history each time; the buffer keeps prepared samples, so a tick
# prepares only the newest sample of each machine. Storage is twice the history long: pushing
# writes one time slot, and only once per ``history`` pushes the newest ``history − 1`` samples are
# copied back to the front, so the window is always a contiguous slice of time.

from __future__ import annotations

import numpy as np

from maintenance.errors import FeatureInputError
from maintenance.features import FloatArray


class WindowBuffer:
    """``(machines, history, tags)`` of the most recent samples, ``NaN`` before the first."""

    def __init__(self, *, machines: int, history: int, tags: int) -> None:
        if machines < 1 or history < 1 or tags < 1:
            raise FeatureInputError(
                f"a window buffer needs ≥ 1 machine, sample and tag, got {machines}, {history}, "
                f"{tags}"
            )
        self.history = history
        self._storage = np.full((machines, 2 * history, tags), np.nan)
        self._end = history

    @property
    def shape(self) -> tuple[int, int, int]:
        machines, _, tags = self._storage.shape
        return machines, self.history, tags

    def push(self, samples: FloatArray) -> None:
        """Append one ``(machines, tags)`` sample per machine (``NaN`` for a missing one)."""
        values = np.asarray(samples, dtype=np.float64)
        machines, _, tags = self.shape
        if values.shape != (machines, tags):
            raise FeatureInputError(
                f"expected samples of shape {(machines, tags)}, got {values.shape}"
            )
        if self._end == self._storage.shape[1]:
            self._move_to_front()
        self._storage[:, self._end, :] = values
        self._end += 1

    def window(self) -> FloatArray:
        """The last ``history`` samples, oldest first: a read-only view, valid until ``push``."""
        view = self._storage[:, self._end - self.history : self._end, :]
        view.flags.writeable = False
        return view

    def _move_to_front(self) -> None:
        keep = self.history - 1
        self._storage[:, :keep, :] = self._storage[:, self._end - keep : self._end, :]
        self._end = keep
