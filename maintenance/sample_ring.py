"""A fixed-length ring of per-machine samples whose newest window is always one slice (no copy)."""

# Every sample is written twice, at ``i`` and ``i + capacity`` of a ``2·capacity`` long time
# axis, so the last ``n`` samples, oldest first, are the slice ending just after the newest copy:
# a tick reads its window as a view, with no ``np.stack`` of a list of samples and no shifting.
# The time axis comes first: a sample is one contiguous block and a window a run of them, the
# layout ``maintenance.features.time_major_features`` reduces fastest. The ring also remembers
# which of its samples hold a missing value, so a window's completeness needs no pass over it.

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from maintenance.errors import FeatureInputError
from maintenance.features import FloatArray


class SampleRing:
    """The newest ``capacity`` samples of ``machines`` rows of ``width`` values each."""

    __slots__ = ("_complete", "_data", "_next", "capacity", "filled")

    def __init__(self, machines: int, capacity: int, width: int) -> None:
        """Requires ``capacity >= 1``; the ring starts empty."""
        if capacity < 1:
            raise FeatureInputError(f"a sample ring needs room for one sample, not {capacity}")
        self._data: FloatArray = np.full((2 * capacity, machines, width), np.nan)
        self._complete: npt.NDArray[np.bool_] = np.zeros(2 * capacity, dtype=np.bool_)
        self._next = 0
        self.capacity = capacity
        self.filled = 0
        """Samples held, at most ``capacity``."""

    def push(self, sample: FloatArray) -> None:
        """Append one ``(machines, width)`` sample, dropping the oldest when full."""
        self._data[self._next] = sample
        self._data[self._next + self.capacity] = sample
        complete = bool(np.isfinite(self._data[self._next]).all())
        self._complete[self._next] = self._complete[self._next + self.capacity] = complete
        self._next = (self._next + 1) % self.capacity
        self.filled = min(self.filled + 1, self.capacity)

    def window(self, length: int | None = None) -> FloatArray:
        """A read-only view ``(machines, n, width)`` of the newest ``n = min(length, filled)``
        samples, oldest first; valid until the next ``push``."""
        return self.time_window(length).transpose(1, 0, 2)

    def time_window(self, length: int | None = None) -> FloatArray:
        """The same samples time first, ``(n, machines, width)``: a contiguous read-only view."""
        end = self._next + self.capacity
        view = self._data[end - self._count(length) : end]
        view.flags.writeable = False
        return view

    def complete(self, length: int | None = None) -> bool:
        """Whether every value of the newest ``n`` samples is finite."""
        end = self._next + self.capacity
        return bool(self._complete[end - self._count(length) : end].all())

    def _count(self, length: int | None) -> int:
        return self.filled if length is None else min(length, self.filled)
