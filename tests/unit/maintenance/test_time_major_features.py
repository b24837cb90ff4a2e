"""Time-major window features: the same figures as the machines-major computation they replace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maintenance.features import (
    FeatureSpec,
    FloatArray,
    Stat,
    Window,
    time_major_features,
    window_features,
)
from maintenance.sample_ring import SampleRing

RECORDED = Path(__file__).parents[2] / "testdata" / "features" / "window_features_v1.npz"
"""Inputs, and the features the machines-major computation (the one before the time-major
layout) gave for them: 9 machines × 90 samples × 3 tags, complete; with missing samples (a tag
that never reports, a late start, a missing newest sample, an empty short window); and only 40
samples."""

SPEC = FeatureSpec(
    tags=("a", "b", "c"),
    windows=(
        Window(length=30, stats=tuple(Stat)),
        Window(length=60, stats=(Stat.SLOPE, Stat.DELTA)),
        Window(length=90, stats=(Stat.MEAN, Stat.SLOPE, Stat.DELTA, Stat.RESIDUAL_STD, Stat.COUNT)),
    ),
)


@pytest.mark.parametrize("case", ["complete", "missing", "short"])
def test_features_equal_the_recorded_machines_major_ones(case: str) -> None:
    recorded = np.load(RECORDED)
    features = window_features(recorded[case], SPEC)
    # Sums taken in another order differ in the last bits only.
    np.testing.assert_allclose(features, recorded[f"{case}_features"], rtol=1e-12, atol=1e-12)


def random_samples(rng: np.random.Generator, steps: int, missing: float) -> list[FloatArray]:
    samples = [5.0 + rng.normal(size=(6, 3)) for _ in range(steps)]
    for sample in samples:
        sample[rng.random(sample.shape) < missing] = np.nan
    return samples


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_a_ring_window_gives_the_features_of_the_same_samples_machines_major(
    missing: float,
) -> None:
    rng = np.random.default_rng(11)
    ring = SampleRing(machines=6, capacity=SPEC.history, width=3)
    pushed: list[FloatArray] = []
    for sample in random_samples(rng, 2 * SPEC.history + 7, missing):
        ring.push(sample)
        pushed.append(sample)
        if len(pushed) % 23:
            continue
        from_ring = time_major_features(
            ring.time_window(SPEC.history), SPEC, complete=ring.complete(SPEC.history)
        )
        machines_major = np.stack(pushed[-SPEC.history :], axis=1)
        np.testing.assert_array_equal(from_ring, window_features(machines_major, SPEC))


def test_the_ring_knows_whether_its_newest_samples_are_complete() -> None:
    ring = SampleRing(machines=2, capacity=4, width=2)
    assert ring.complete()
    ring.push(np.ones((2, 2)))
    gap = np.ones((2, 2))
    gap[1, 0] = np.nan
    ring.push(gap)
    assert not ring.complete()
    assert ring.complete(1) is False
    for _ in range(3):
        ring.push(np.ones((2, 2)))
    assert ring.complete(3)
    assert not ring.complete(4)
    ring.push(np.ones((2, 2)))  # the gap leaves the ring
    assert ring.complete()


def test_the_time_window_is_a_contiguous_read_only_view() -> None:
    ring = SampleRing(machines=3, capacity=5, width=2)
    for step in range(7):
        ring.push(np.full((3, 2), float(step)))
    window = ring.time_window(4)
    assert window.shape == (4, 3, 2)
    assert window.flags.c_contiguous
    assert not window.flags.writeable
    np.testing.assert_array_equal(window[:, 0, 0], [3.0, 4.0, 5.0, 6.0])
