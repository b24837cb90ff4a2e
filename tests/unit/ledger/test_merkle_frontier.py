"""Appending from a frontier gives the same roots and proofs as the whole leaf list."""

from __future__ import annotations

import pytest

from ledger.errors import TreeRangeError
from ledger.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    hash_leaf,
    root_and_inclusion_proofs,
    root_hash,
    verify_consistency,
)
from ledger.merkle_frontier import (
    EMPTY_FRONTIER,
    Frontier,
    Subtrees,
    append_leaves,
    frontier_ranges,
)


def _leaves(count: int) -> list[bytes]:
    return [hash_leaf(i.to_bytes(4, "big")) for i in range(count)]


LEAVES = _leaves(70)


@pytest.mark.parametrize("old", range(0, 34))
@pytest.mark.parametrize("added", [1, 2, 3, 5, 8, 13, 36])
def test_append_matches_the_whole_tree(old: int, added: int) -> None:
    leaves = LEAVES[: old + added]
    root, proofs = root_and_inclusion_proofs(leaves, first=old)
    appended = append_leaves(Frontier.of_leaves(leaves[:old]), leaves[old:])
    assert appended.root == root
    assert appended.proofs == proofs
    assert appended.frontier == Frontier.of_leaves(leaves)


@pytest.mark.parametrize("old", range(1, 34))
@pytest.mark.parametrize("added", [0, 1, 4, 7, 31])
def test_consistency_from_a_frontier_matches_and_verifies(old: int, added: int) -> None:
    leaves = LEAVES[: old + added]
    tree = Subtrees(Frontier.of_leaves(leaves[:old]), leaves[old:])
    proof = tree.consistency_proof()
    assert proof == consistency_proof(leaves, old)
    verify_consistency(old, len(leaves), root_hash(leaves[:old]), root_hash(leaves), proof)


def test_successive_appends_chain_through_their_frontiers() -> None:
    frontier = EMPTY_FRONTIER
    for start, end in [(0, 1), (1, 6), (6, 7), (7, 32), (32, 70)]:
        appended = append_leaves(frontier, LEAVES[start:end])
        assert appended.root == root_hash(LEAVES[:end])
        frontier = Frontier.from_bytes(end, appended.frontier.to_bytes())
    assert frontier == Frontier.of_leaves(LEAVES)


def test_frontier_ranges_are_the_binary_decomposition_of_the_size() -> None:
    assert [(r.start, r.end) for r in frontier_ranges(13)] == [(0, 8), (8, 12), (12, 13)]
    assert frontier_ranges(0) == ()


def test_the_empty_tree_has_the_empty_root() -> None:
    assert Subtrees(EMPTY_FRONTIER, []).root() == EMPTY_ROOT


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(TreeRangeError, match="frontier hashes"):
        Frontier(6, (LEAVES[0],))


def test_a_node_inside_the_old_tree_needs_the_old_leaves() -> None:
    tree = Subtrees(Frontier.of_leaves(LEAVES[:8]), LEAVES[8:9])
    with pytest.raises(TreeRangeError, match="needs the old leaves"):
        tree.node(0, 4)
