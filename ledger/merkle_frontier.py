"""Growing an RFC 6962 log from its frontier: new roots and proofs without reading old leaves."""

# The frontier of a tree of size m is the list of its maximal perfect subtrees, largest first:
# one per set bit of m (m = 6 → MTH(D[0:4]), MTH(D[4:6])). Every node a proof about leaves
# appended after m needs, and every node of a consistency proof from size m, is either a
# frontier node of m or lies (partly) right of m, so the frontier plus the leaves after m answer
# them all (transparency-dev calls this a compact range). Results are byte-identical to
# ledger/merkle.py over the whole leaf list: the tests compare them for every small size.

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import TreeRangeError
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LeafRange,
    consistency_plan,
    hash_children,
    inclusion_plan,
    split_point,
)


@dataclass(frozen=True, slots=True)
class Frontier:
    """The maximal perfect subtree hashes of a tree of ``size`` leaves, largest first."""

    size: int
    hashes: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if len(self.hashes) != self.size.bit_count():
            raise TreeRangeError(
                f"a tree of {self.size} leaves has {self.size.bit_count()} frontier hashes,"
                f" not {len(self.hashes)}"
            )

    def to_bytes(self) -> bytes:
        """The hashes concatenated, as a store keeps them beside the size."""
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> Frontier:
        """The frontier of ``size`` leaves stored by :meth:`to_bytes`."""
        hashes = tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))
        return cls(size, hashes)

    @classmethod
    def of_leaves(cls, leaf_hashes: Sequence[bytes]) -> Frontier:
        """The frontier of the tree over ``leaf_hashes`` (reads them all, once)."""
        return Subtrees(EMPTY_FRONTIER, leaf_hashes).frontier()


EMPTY_FRONTIER = Frontier(0, ())


def frontier_ranges(size: int) -> tuple[LeafRange, ...]:
    """The leaf ranges of the maximal perfect subtrees of a tree of ``size`` leaves."""
    ranges, start = [], 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            ranges.append(LeafRange(start, start + (1 << bit)))
            start += 1 << bit
    return tuple(ranges)


class Subtrees:
    """Subtree hashes of the tree ``frontier`` + ``appended`` leaves, each computed once."""

    def __init__(self, frontier: Frontier, appended: Sequence[bytes]) -> None:
        self.old_size = frontier.size
        self.size = frontier.size + len(appended)
        self._appended = appended
        self._known: dict[tuple[int, int], bytes] = {
            (r.start, r.end): h
            for r, h in zip(frontier_ranges(frontier.size), frontier.hashes, strict=True)
        }

    def node(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that starts a subtree of the tree."""
        known = self._known.get((start, end))
        if known is not None:
            return known
        if end - start == 1 and start >= self.old_size:
            value = self._appended[start - self.old_size]
        elif end <= self.old_size:
            raise TreeRangeError(
                f"MTH(D[{start}:{end}]) lies inside the first {self.old_size} leaves and is not"
                " a frontier node: it needs the old leaves"
            )
        else:
            mid = start + split_point(end - start)
            value = hash_children(self.node(start, mid), self.node(mid, end))
        self._known[(start, end)] = value
        return value

    def root(self) -> bytes:
        """MTH(D[0:size])."""
        return self.node(0, self.size) if self.size else EMPTY_ROOT

    def frontier(self) -> Frontier:
        """The frontier of the grown tree."""
        hashes = tuple(self.node(r.start, r.end) for r in frontier_ranges(self.size))
        return Frontier(self.size, hashes)

    def inclusion_proof(self, index: int) -> list[bytes]:
        """PATH(index, D[0:size]) for an appended leaf."""
        return [self.node(r.start, r.end) for r in inclusion_plan(index, self.size)]

    def consistency_proof(self) -> list[bytes]:
        """PROOF(old_size, D[0:size]): the frontier's tree is a prefix of the grown one."""
        return [self.node(r.start, r.end) for r in consistency_plan(self.old_size, self.size)]


@dataclass(frozen=True, slots=True)
class Appended:
    """What appending leaves to a log gives: the new root, each new leaf's proof, the frontier."""

    root: bytes
    proofs: list[list[bytes]]
    frontier: Frontier


def append_leaves(frontier: Frontier, leaf_hashes: Sequence[bytes]) -> Appended:
    """Append ``leaf_hashes`` to the tree whose frontier is given: work grows with the batch and
    the log's height, not with the log.

    Level by level as ``ledger.merkle`` builds a whole tree, but each level holds only its nodes
    from the first one the new leaves touch (and that node's left partner, a frontier node).
    """
    if not leaf_hashes:
        return Appended(Subtrees(frontier, ()).root(), [], frontier)
    by_height = _frontier_by_height(frontier)
    levels = _partial_levels(frontier.size, list(leaf_hashes), by_height)
    proofs = [
        _proof(index, levels) for index in range(frontier.size, frontier.size + len(leaf_hashes))
    ]
    size = frontier.size + len(leaf_hashes)
    grown = Frontier(size, tuple(_frontier_nodes(size, levels)))
    return Appended(levels[-1][1][0], proofs, grown)


_Level = tuple[int, list[bytes]]
"""A level of the tree: the index of its first kept node and the kept nodes to the level's end."""


def _frontier_by_height(frontier: Frontier) -> dict[int, bytes]:
    heights = [
        bit for bit in reversed(range(frontier.size.bit_length())) if frontier.size >> bit & 1
    ]
    return dict(zip(heights, frontier.hashes, strict=True))


def _partial_levels(old: int, nodes: list[bytes], by_height: dict[int, bytes]) -> list[_Level]:
    first, height = old, 0
    if first & 1:
        nodes, first = [by_height[0], *nodes], first - 1
    levels = [(first, nodes)]
    while first + len(nodes) > 1:
        paired = [hash_children(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
        if len(nodes) % 2:
            paired.append(nodes[-1])
        first, nodes, height = first >> 1, paired, height + 1
        if first & 1:
            nodes, first = [by_height[height], *nodes], first - 1
        levels.append((first, nodes))
    return levels


def _proof(index: int, levels: Sequence[_Level]) -> list[bytes]:
    proof, node = [], index
    for first, nodes in levels[:-1]:
        if (sibling := node ^ 1) < first + len(nodes):
            proof.append(nodes[sibling - first])
        node >>= 1
    return proof


def _frontier_nodes(size: int, levels: Sequence[_Level]) -> list[bytes]:
    """The maximal perfect subtrees of the grown tree: on each height of a set bit of ``size``,
    the node just before the level's unpaired tail."""
    nodes = []
    for height in reversed(range(size.bit_length())):
        if size >> height & 1:
            first, level = levels[height]
            nodes.append(level[(size >> height) - 1 - first])
    return nodes
