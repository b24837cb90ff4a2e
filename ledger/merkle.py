"""RFC 6962 Merkle tree hashes, inclusion and consistency proofs: pure, no I/O, a frozen format."""

# =================================================================================================
# CONSENSUS-CRITICAL, FROZEN FORMAT.
#
# Batch roots computed here are anchored on chain, and proofs made here are handed to third
# parties who verify them with any RFC 6962 / RFC 9162 implementation. Changing the hashing
# (SHA-256, the 0x00 leaf and 0x01 node prefixes, the tree shape or the order of proof
# elements) breaks every anchored proof. tests/unit/ledger/test_merkle.py pins the published
# RFC 6962 test vectors: if those fail, the change is wrong, not the tests.
#
# Layout follows transparency-dev/merkle: planning a proof (which leaf ranges' subtree hashes
# it needs) is pure arithmetic on (index, size); combining takes those hashes. A store that
# keeps subtree hashes can answer a plan without reading every leaf.
# =================================================================================================

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ledger.errors import ProofError, TreeRangeError

HASH_SIZE = 32
"""Bytes of a SHA-256 hash: every leaf hash, node hash, root and proof element."""

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 6962 §2.1): the root of the empty tree."""


@dataclass(frozen=True, slots=True)
class LeafRange:
    """Leaves ``[start, end)`` whose subtree hash MTH(D[start:end]) is one proof element."""

    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


def hash_leaf(data: bytes) -> bytes:
    """The leaf hash SHA-256(0x00 || data) (RFC 6962 §2.1)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def hash_children(left: bytes, right: bytes) -> bytes:
    """The interior node hash SHA-256(0x01 || left || right) (RFC 6962 §2.1)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree over ``leaf_hashes`` (RFC 6962 §2.1), computed level by level."""
    _check_hashes(leaf_hashes, "leaf hash", TreeRangeError)
    return _levels(leaf_hashes)[-1][0] if leaf_hashes else EMPTY_ROOT


def inclusion_proofs(leaf_hashes: Sequence[bytes], first: int = 0) -> list[list[bytes]]:
    """PATH(i, D[0:n]) for every leaf i >= ``first`` at once (RFC 6962 §2.1.1), in O(n log n).

    What sealing needs: one pass builds the levels, then each proof takes the sibling of its
    node on every level where the node has one (an unpaired node rises unchanged). A growing
    log asks only for the leaves it just appended (``first``: the size before them).
    """
    return root_and_inclusion_proofs(leaf_hashes, first)[1]


def root_and_inclusion_proofs(
    leaf_hashes: Sequence[bytes], first: int = 0
) -> tuple[bytes, list[list[bytes]]]:
    """MTH(D[0:n]) and ``inclusion_proofs(leaf_hashes, first)`` from one pass over the tree."""
    _check_hashes(leaf_hashes, "leaf hash", TreeRangeError)
    levels = _levels(leaf_hashes) if leaf_hashes else []
    proofs: list[list[bytes]] = []
    for index in range(first, len(leaf_hashes)):
        proof, node = [], index
        for level in levels[:-1]:
            if (sibling := node ^ 1) < len(level):
                proof.append(level[sibling])
            node >>= 1
        proofs.append(proof)
    return (levels[-1][0] if levels else EMPTY_ROOT), proofs


def _levels(leaf_hashes: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree from the leaves up to the root, for n > 0.

    Pairing neighbours bottom-up and carrying an unpaired last node up unchanged yields the
    RFC 6962 §2.1 left-complete tree (split at the largest power of two below n).
    """
    levels = [list(leaf_hashes)]
    while len(level := levels[-1]) > 1:
        paired = [hash_children(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        levels.append(paired)
    return levels


def inclusion_plan(index: int, size: int) -> tuple[LeafRange, ...]:
    """The leaf ranges whose subtree hashes form PATH(index, D[0:size]) (RFC 6962 §2.1.1).

    Ordered as the proof is: from the leaf's sibling up to the root's other child.
    Requires 0 <= index < size.
    """
    if not 0 <= index < size:
        raise TreeRangeError(f"inclusion proof requires 0 <= index < size, got {index}, {size}")
    ranges: list[LeafRange] = []
    start, end = 0, size
    while end - start > 1:
        mid = start + split_point(end - start)
        if index < mid:
            ranges.append(LeafRange(mid, end))
            end = mid
        else:
            ranges.append(LeafRange(start, mid))
            start = mid
    return tuple(reversed(ranges))


def consistency_plan(old_size: int, new_size: int) -> tuple[LeafRange, ...]:
    """The leaf ranges whose subtree hashes form PROOF(old_size, D[0:new_size]) (RFC 6962 §2.1.2).

    SUBPROOF unrolled into a loop. Empty when old_size is 0 or equals new_size.
    Requires 0 <= old_size <= new_size.
    """
    if not 0 <= old_size <= new_size:
        raise TreeRangeError(
            f"consistency proof requires 0 <= old_size <= new_size, got {old_size}, {new_size}"
        )
    if old_size in (0, new_size):
        return ()
    ranges: list[LeafRange] = []
    start, end, whole_old_tree = 0, new_size, True
    while old_size - start != end - start:
        mid = start + split_point(end - start)
        if old_size <= mid:
            ranges.append(LeafRange(mid, end))
            end = mid
        else:
            ranges.append(LeafRange(start, mid))
            start, whole_old_tree = mid, False
    if not whole_old_tree:
        ranges.append(LeafRange(start, end))
    return tuple(reversed(ranges))


def combine(plan: Sequence[LeafRange], leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """The proof for ``plan``: the subtree hash of each planned range of ``leaf_hashes``."""
    if plan and max(r.end for r in plan) > len(leaf_hashes):
        raise TreeRangeError(f"plan reaches past the {len(leaf_hashes)} leaves given")
    return [root_hash(leaf_hashes[r.start : r.end]) for r in plan]


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None
) -> list[bytes]:
    """PATH(index, D[0:size]) over the first ``size`` leaves (all of them by default)."""
    size = len(leaf_hashes) if size is None else size
    if size > len(leaf_hashes):
        raise TreeRangeError(f"tree size {size} exceeds the {len(leaf_hashes)} leaves given")
    return combine(inclusion_plan(index, size), leaf_hashes)


def consistency_proof(
    leaf_hashes: Sequence[bytes], old_size: int, new_size: int | None = None
) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) over the first ``new_size`` leaves (all by default)."""
    new_size = len(leaf_hashes) if new_size is None else new_size
    if new_size > len(leaf_hashes):
        raise TreeRangeError(f"tree size {new_size} exceeds the {len(leaf_hashes)} leaves given")
    return combine(consistency_plan(old_size, new_size), leaf_hashes)


def root_from_inclusion_proof(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` leads to from ``leaf_hash`` at ``index`` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof requires 0 <= index < size, got {index}, {size}")
    _check_hashes([leaf_hash], "leaf hash", ProofError)
    _check_hashes(proof, "proof element", ProofError)
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof is too long for index {index} of size {size}")
        if fn & 1 or fn == sn:
            r = hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"inclusion proof is too short for index {index} of size {size}")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree ``root`` of ``size`` leaves.

    RFC 9162 §2.1.3.2; raises ProofError saying what did not hold.
    """
    _check_hashes([root], "root", ProofError)
    if root_from_inclusion_proof(index, size, leaf_hash, proof) != root:
        raise ProofError(f"inclusion proof for index {index} of size {size} leads to another root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree ``new_root`` extends the tree ``old_root`` (RFC 9162 §2.1.4.2).

    Raises ProofError saying what did not hold.
    """
    _check_hashes([old_root, new_root], "root", ProofError)
    _check_hashes(proof, "proof element", ProofError)
    if not 0 <= old_size <= new_size:
        raise ProofError(
            f"consistency proof requires 0 <= old_size <= new_size, got {old_size}, {new_size}"
        )
    if old_size in (0, new_size):
        _verify_trivial_consistency(old_size, new_size, old_root, new_root, proof)
        return
    old_got, new_got = _roots_from_consistency_proof(old_size, new_size, old_root, proof)
    if old_got != old_root:
        raise ProofError(f"consistency proof {old_size}->{new_size} leads to another old root")
    if new_got != new_root:
        raise ProofError(f"consistency proof {old_size}->{new_size} leads to another new root")


def _verify_trivial_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """The cases with an empty proof: the empty old tree, and a tree compared with itself."""
    if proof:
        raise ProofError(f"consistency proof {old_size}->{new_size} must be empty")
    if old_size == 0 and old_root != EMPTY_ROOT:
        raise ProofError("the root of a tree of size 0 must be the empty-tree hash")
    if old_size == new_size and old_root != new_root:
        raise ProofError(f"two trees of size {new_size} with different roots are inconsistent")


def _roots_from_consistency_proof(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Steps 1-6 of RFC 9162 §2.1.4.2 for 0 < old_size < new_size: the two roots recomputed."""
    if not proof:
        raise ProofError(f"consistency proof {old_size}->{new_size} must not be empty")
    path = [old_root, *proof] if _is_power_of_two(old_size) else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof {old_size}->{new_size} is too long")
        if fn & 1 or fn == sn:
            fr, sr = hash_children(c, fr), hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"consistency proof {old_size}->{new_size} is too short")
    return fr, sr


def split_point(n: int) -> int:
    """The largest power of two smaller than n, for n > 1 (RFC 6962 §2.1's k)."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _check_hashes(
    hashes: Sequence[bytes], what: str, error: type[ProofError] | type[TreeRangeError]
) -> None:
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes) or len(h) != HASH_SIZE:
            size = len(h) if isinstance(h, bytes) else type(h).__name__
            raise error(f"{what} {i} must be {HASH_SIZE} bytes, got {size}")
