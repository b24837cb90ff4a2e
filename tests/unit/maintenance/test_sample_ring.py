"""SampleRing: the newest samples, oldest first, as one view, through many wrap-arounds."""

from __future__ import annotations

import numpy as np
import pytest

from maintenance.errors import FeatureInputError
from maintenance.sample_ring import SampleRing


def test_the_window_holds_the_newest_samples_oldest_first_through_wrap_arounds() -> None:
    ring = SampleRing(machines=2, capacity=4, width=3)
    pushed: list[np.ndarray] = []
    assert ring.window().shape == (2, 0, 3)
    for step in range(11):
        sample = np.arange(6, dtype=np.float64).reshape(2, 3) + 10.0 * step
        ring.push(sample)
        pushed.append(sample)
        expected = np.stack(pushed[-4:], axis=1)
        np.testing.assert_array_equal(ring.window(), expected)
        np.testing.assert_array_equal(ring.window(2), expected[:, -2:, :])
    assert ring.filled == 4


def test_the_window_is_a_read_only_view() -> None:
    ring = SampleRing(machines=1, capacity=2, width=1)
    ring.push(np.ones((1, 1)))
    with pytest.raises(ValueError, match="read-only"):
        ring.window()[0, 0, 0] = 2.0


def test_a_ring_without_room_is_refused() -> None:
    with pytest.raises(FeatureInputError, match="room for one sample"):
        SampleRing(machines=1, capacity=0, width=1)
