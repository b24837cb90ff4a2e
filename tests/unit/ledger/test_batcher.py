"""The batch policy: full batches first, a partial one only when its oldest leaf is old enough."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.batcher import BatchPolicy
from tests.unit.ledger.ledgerkit import T0

POLICY = BatchPolicy(max_size=100, max_age=timedelta(seconds=60))


def test_nothing_is_sealed_while_a_partial_batch_is_young() -> None:
    assert POLICY.plan(99, T0, T0 + timedelta(seconds=59)) == []
    assert POLICY.plan(0, None, T0) == []


def test_a_partial_batch_is_sealed_once_its_oldest_leaf_is_old_enough() -> None:
    assert POLICY.plan(7, T0, T0 + timedelta(seconds=60)) == [7]


def test_full_batches_are_sealed_at_once_and_the_rest_waits() -> None:
    assert POLICY.plan(250, T0, T0) == [100, 100]
    assert POLICY.plan(250, T0, T0 + timedelta(seconds=61)) == [100, 100, 50]


def test_next_due_is_when_the_oldest_leaf_reaches_the_age() -> None:
    assert POLICY.next_due(3, T0) == T0 + timedelta(seconds=60)
    assert POLICY.next_due(0, None) is None


@pytest.mark.parametrize(("size", "age"), [(0, 60.0), (10, 0.0), (10, -1.0)])
def test_a_policy_needs_a_positive_size_and_age(size: int, age: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        BatchPolicy(size, timedelta(seconds=age))


@given(
    st.integers(1, 50),
    st.integers(1, 3600),
    st.integers(0, 500),
    st.integers(0, 7200),
)
def test_batches_are_never_empty_nor_too_big_and_no_leaf_waits_too_long(
    max_size: int, max_age: int, pending: int, waited: int
) -> None:
    policy = BatchPolicy(max_size, timedelta(seconds=max_age))
    oldest = T0 if pending else None
    sizes = policy.plan(pending, oldest, T0 + timedelta(seconds=waited))
    assert all(0 < size <= max_size for size in sizes)
    assert sum(sizes) <= pending
    left = pending - sum(sizes)
    assert left < max_size  # every full batch goes
    if waited >= max_age:
        assert left == 0  # nothing older than max_age stays behind
    assert sizes == sorted(sizes, reverse=True)  # full batches first
