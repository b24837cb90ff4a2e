"""The fleet window buffer always shows the last ``history`` samples, oldest first."""

from __future__ import annotations

import numpy as np
import pytest

from maintenance.errors import FeatureInputError
from maintenance.window_buffer import WindowBuffer


@pytest.mark.parametrize("history", [1, 2, 5])
def test_window_is_the_last_samples_across_many_wraps(history: int) -> None:
    buffer = WindowBuffer(machines=3, history=history, tags=2)
    rng = np.random.default_rng(history)
    pushed: list[np.ndarray] = []
    for _ in range(4 * history + 3):
        sample = rng.normal(size=(3, 2))
        buffer.push(sample)
        pushed.append(sample)
        recent = np.stack(pushed[-history:], axis=1)
        window = buffer.window()
        assert window.shape == (3, history, 2)
        np.testing.assert_array_equal(window[:, history - recent.shape[1] :], recent)
        assert np.isnan(window[:, : history - recent.shape[1]]).all()


def test_window_is_read_only_and_shape_is_checked() -> None:
    buffer = WindowBuffer(machines=2, history=3, tags=1)
    with pytest.raises(ValueError, match="read-only"):
        buffer.window()[0, 0, 0] = 1.0
    with pytest.raises(FeatureInputError):
        buffer.push(np.zeros((3, 1)))
