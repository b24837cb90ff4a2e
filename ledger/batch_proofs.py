"""Inclusion proofs of whole batches checked at once: each tree rebuilt once, its paths read off."""

# Verifying a path costs log2(n) hashes; a batch's n proofs cost n log2(n). When the records
# at hand hold every leaf of a batch, its tree is rebuilt once (n - 1 hashes, RFC 6962 §2.1)
# and every leaf's true path is read off it. A bundle's path that equals the true path of its
# leaf leads to the rebuilt root, so inclusion_root answers it without hashing; any other path
# is hashed as always (ledger.merkle.root_from_inclusion_proof), so verdicts never change.

from __future__ import annotations

from collections.abc import Sequence

from ledger.merkle import root_and_inclusion_proofs, root_from_inclusion_proof
from models import AttestedRecord

_ProofKey = tuple[bytes, int, int, tuple[bytes, ...]]
"""(leaf hash, leaf index, tree size, path)."""
_Batches = dict[tuple[bytes, int], dict[int, bytes]]
"""The leaf hash at each index of each batch (root, size)."""

_PROVEN: dict[_ProofKey, bytes] = {}
_PROVEN_KEPT = 1 << 16


def prove_batches_ahead(records: Sequence[AttestedRecord]) -> int:
    """Rebuild the tree of every batch whose leaves are all among ``records`` and whose root is
    the one they name, so :func:`inclusion_root` answers their paths.

    A batch's leaves are those its records place at each index, or, for a tree of the site log
    (whose first leaves earlier batches' records hold), the leaf the records agree on at each
    index. A tree is rebuilt only where that costs fewer hashes than the paths asked of it.
    Returns how many paths were proven ahead.
    """
    if len(_PROVEN) > _PROVEN_KEPT:
        _PROVEN.clear()  # paths proven ahead and never asked for
    batches = _leaves_by_batch(records)
    agreed = _agreed_leaves(batches)
    proven = 0
    for (root, size), leaves in batches.items():
        if len(leaves) * size.bit_length() < size:
            continue  # hashing each path asked is cheaper than the whole tree
        hashes = _tree_leaves(size, leaves, agreed)
        if hashes is None:
            continue
        first = min(leaves)  # the paths of the leaves asked for only (a log's last batch)
        rebuilt, paths = root_and_inclusion_proofs(hashes, first)
        if rebuilt != root:
            continue
        for index in leaves:
            _PROVEN[(hashes[index], index, size, tuple(paths[index - first]))] = root
        proven += len(leaves)
    return proven


def _agreed_leaves(batches: _Batches) -> dict[int, bytes | None]:
    """The leaf hash every record placed at each index agrees on (None where two differ)."""
    agreed: dict[int, bytes | None] = {}
    for leaves in batches.values():
        for index, leaf in leaves.items():
            agreed[index] = leaf if agreed.get(index, leaf) == leaf else None
    return agreed


def _tree_leaves(
    size: int, leaves: dict[int, bytes], agreed: dict[int, bytes | None]
) -> list[bytes] | None:
    """The ``size`` leaves of a tree: its own records' when they hold every index, else the
    agreed ones; None when some index is unknown."""
    if len(leaves) == size and min(leaves) == 0 and max(leaves) == size - 1:
        return [leaves[index] for index in range(size)]
    hashes = []
    for index in range(size):
        leaf = agreed.get(index)
        if leaf is None:
            return None
        hashes.append(leaf)
    return hashes


def inclusion_root(index: int, size: int, leaf_hash: bytes, path: Sequence[bytes]) -> bytes:
    """The root ``path`` leads to from leaf ``index`` of ``size`` (RFC 9162 §2.1.3.2), at once
    for a path proven ahead (each once), else by hashing; ProofError for a malformed proof."""
    proven = _PROVEN.pop((leaf_hash, index, size, tuple(path)), None)
    return proven if proven is not None else root_from_inclusion_proof(index, size, leaf_hash, path)


def _leaves_by_batch(records: Sequence[AttestedRecord]) -> _Batches:
    """The leaf hash at each index of every batch (root, size) the records' proofs name."""
    batches: _Batches = {}
    for record in records:
        proof = record.proof
        if proof is None or proof.tree_size < 1:
            continue
        try:
            batch = (bytes.fromhex(proof.root), proof.tree_size)
            batches.setdefault(batch, {})[proof.leaf_index] = bytes.fromhex(record.leaf_hash)
        except ValueError:
            continue
    return batches
