"""A fixed-length ring of per-machine samples whose newest window is always one slice (no copy)."""

# Every sample is written twice, at ``i`` and ``i + capacity`` of a ``2·capacity`` long time
# axis, so the last ``n`` samples, oldest first, are the slice ending just after the newest copy:
# a tick reads its window as a view, with no ``np.stack`` of a list of samples and no shifting.

from __future__ import annotations

import numpy as np

from maintenance.errors import FeatureInputError
from maintenance.features import FloatArray


class SampleRing:
    """The newest ``capacity`` samples of ``machines`` rows of ``width`` values each."""

    __slots__ = ("_data", "_next", "capacity", "filled")

    def __init__(self, machines: int, capacity: int, width: int) -> None:
        """Requires ``capacity >= 1``; the ring starts empty."""
        if capacity < 1:
            raise FeatureInputError(f"a sample ring needs room for one sample, not {capacity}")
        self._data: FloatArray = np.full((machines, 2 * capacity, width), np.nan)
        self._next = 0
        self.capacity = capacity
        self.filled = 0
        """Samples held, at most ``capacity``."""

    def push(self, sample: FloatArray) -> None:
        """Append one ``(machines, width)`` sample, dropping the oldest when full."""
        self._data[:, self._next, :] = sample
        self._data[:, self._next + self.capacity, :] = sample
        self._next = (self._next + 1) % self.capacity
        self.filled = min(self.filled + 1, self.capacity)

    def window(self, length: int | None = None) -> FloatArray:
        """A read-only view ``(machines, n, width)`` of the newest ``n = min(length, filled)``
        samples, oldest first; valid until the next ``push``."""
        count = self.filled if length is None else min(length, self.filled)
        end = self._next + self.capacity
        view = self._data[:, end - count : end, :]
        view.flags.writeable = False
        return view
