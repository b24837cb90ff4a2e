"""RFC 6962 Merkle trees: published vectors, a naive reference, and properties over all sizes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError, TreeRangeError
from ledger.merkle import (
    EMPTY_ROOT,
    LeafRange,
    combine,
    consistency_plan,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_plan,
    inclusion_proof,
    inclusion_proofs,
    root_and_inclusion_proofs,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "testdata" / "merkle" / "rfc6962_vectors.json").read_text()
)
LEAVES = [bytes.fromhex(h) for h in VECTORS["leaves"]]
LEAF_HASHES = [hash_leaf(d) for d in LEAVES]
ROOTS = {int(n): bytes.fromhex(h) for n, h in VECTORS["roots"].items()}
MAX_SIZE = 64
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


# --- a naive reference, written straight from the recursive definitions of RFC 6962 §2.1 ---


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(data: list[bytes]) -> bytes:
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = ref_k(len(data))
    return hashlib.sha256(b"\x01" + ref_mth(data[:k]) + ref_mth(data[k:])).digest()


def ref_path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) <= 1:
        return []
    k = ref_k(len(data))
    if m < k:
        return [*ref_path(m, data[:k]), ref_mth(data[k:])]
    return [*ref_path(m - k, data[k:]), ref_mth(data[:k])]


def ref_subproof(m: int, data: list[bytes], whole: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if whole else [ref_mth(data)]
    k = ref_k(n)
    if m <= k:
        return [*ref_subproof(m, data[:k], whole), ref_mth(data[k:])]
    return [*ref_subproof(m - k, data[k:], False), ref_mth(data[:k])]


def ref_proof(m: int, data: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(data)) else ref_subproof(m, data, True)


def tree_data(size: int) -> list[bytes]:
    return [i.to_bytes(4, "big") * (i % 3) for i in range(size)]


DATA = tree_data(MAX_SIZE)
HASHES = [hash_leaf(d) for d in DATA]


# --- known answers ---


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert root_hash([]) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert hash_leaf(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        hash_children(b"a" * 32, b"b" * 32)
        == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert hash_leaf(b"\x01" + b"a" * 32 + b"b" * 32) != hash_children(b"a" * 32, b"b" * 32)


@pytest.mark.parametrize("size", range(9))
def test_roots_match_published_vectors(size: int) -> None:
    assert root_hash(LEAF_HASHES[:size]) == ROOTS[size]
    assert ref_mth(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}@{c['size']}")
def test_inclusion_proofs_match_published_vectors(case: dict[str, Any]) -> None:
    index, size = case["index"], case["size"]
    expected = [bytes.fromhex(h) for h in case["proof"]]
    assert inclusion_proof(LEAF_HASHES, index, size) == expected
    verify_inclusion(index, size, LEAF_HASHES[index], expected, ROOTS[size])


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['old_size']}-{c['new_size']}"
)
def test_consistency_proofs_match_published_vectors(case: dict[str, Any]) -> None:
    old, new = case["old_size"], case["new_size"]
    expected = [bytes.fromhex(h) for h in case["proof"]]
    assert consistency_proof(LEAF_HASHES, old, new) == expected
    verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


def test_plans_name_the_subtrees_of_the_proof() -> None:
    assert inclusion_plan(5, 8) == (LeafRange(4, 5), LeafRange(6, 8), LeafRange(0, 4))
    assert consistency_plan(6, 8) == (LeafRange(4, 6), LeafRange(6, 8), LeafRange(0, 4))
    assert consistency_plan(4, 8) == (LeafRange(4, 8),)
    assert combine(inclusion_plan(5, 8), LEAF_HASHES) == inclusion_proof(LEAF_HASHES, 5)


# --- corrupted proofs, after transparency-dev/merkle's verifierCheck probes ---


def verifies(check: Callable[..., None], *args: Any) -> bool:
    try:
        check(*args)
    except ProofError:
        return False
    return True


def inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, int, int, bytes, list[bytes], bytes]]:
    probes = [
        ("index - 1", index - 1, size, leaf, proof, root),
        ("index + 1", index + 1, size, leaf, proof, root),
        ("index ^ 2", index ^ 2, size, leaf, proof, root),
        ("size * 2", index, size * 2, leaf, proof, root),
        ("size // 2", index, size // 2, leaf, proof, root),
        ("wrong leaf", index, size, hash_leaf(b"WrongLeaf"), proof, root),
        ("empty root", index, size, leaf, proof, EMPTY_ROOT),
        ("random root", index, size, leaf, proof, SOME_HASH),
        ("trailing root", index, size, leaf, [*proof, root], root),
        ("preceding root", index, size, leaf, [root, *proof], root),
    ]
    if proof:
        probes.append(("removed component", index, size, leaf, proof[:-1], root))
    if len(proof) > 1:
        probes.append(
            ("inserted component", index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)
        )
    for i in range(len(proof)):
        flipped = [bytes([p[0] ^ 8]) + p[1:] if j == i else p for j, p in enumerate(proof)]
        probes.append((f"flipped proof[{i}]", index, size, leaf, flipped, root))
    return probes


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}@{c['size']}")
def test_corrupted_inclusion_proofs_fail(case: dict[str, Any]) -> None:
    index, size = case["index"], case["size"]
    proof = [bytes.fromhex(h) for h in case["proof"]]
    probes = inclusion_probes(index, size, proof, ROOTS[size], LEAF_HASHES[index])
    accepted = [desc for desc, *args in probes if verifies(verify_inclusion, *args)]
    assert accepted == []


@pytest.mark.parametrize(
    "case",
    [c for c in VECTORS["consistency"] if c["proof"]],
    ids=lambda c: f"{c['old_size']}-{c['new_size']}",
)
def test_corrupted_consistency_proofs_fail(case: dict[str, Any]) -> None:
    m, n = case["old_size"], case["new_size"]
    proof = [bytes.fromhex(h) for h in case["proof"]]
    r1, r2 = ROOTS[m], ROOTS[n]
    probes = [
        (m - 1, n, r1, r2, proof),
        (m + 1, n, r1, r2, proof),
        (m ^ 2, n, r1, r2, proof),
        (m, n * 2, r1, r2, proof),
        (m, n // 2, r1, r2, proof),
        (m, n, SOME_HASH, r2, proof),
        (m, n, r1, SOME_HASH, proof),
        (m, n, r2, r1, proof),
        (m, n, r1, r2, []),
        (m, n, r1, r2, [*proof, r1]),
        (m, n, r1, r2, [*proof, r2]),
        (m, n, r1, r2, [r1, *proof]),
        (m, n, r1, r2, [r2, *proof]),
        (m, n, r1, r2, [proof[0], *proof]),
        (m, n, r1, r2, proof[:-1]),
    ]
    probes += [
        (m, n, r1, r2, [bytes([p[0] ^ 16]) + p[1:] if j == i else p for j, p in enumerate(proof)])
        for i in range(len(proof))
    ]
    accepted = [probe[:2] for probe in probes if verifies(verify_consistency, *probe)]
    assert accepted == []


# --- preconditions ---


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (-1, 4), (4, 4)])
def test_inclusion_requires_index_inside_tree(index: int, size: int) -> None:
    with pytest.raises(TreeRangeError, match="requires 0 <= index < size"):
        inclusion_plan(index, size)
    with pytest.raises(ProofError, match="requires 0 <= index < size"):
        verify_inclusion(index, size, SOME_HASH, [], SOME_HASH)


@pytest.mark.parametrize(("old", "new"), [(2, 1), (-1, 3)])
def test_consistency_requires_growing_sizes(old: int, new: int) -> None:
    with pytest.raises(TreeRangeError, match="requires 0 <= old_size <= new_size"):
        consistency_plan(old, new)
    with pytest.raises(ProofError, match="requires 0 <= old_size <= new_size"):
        verify_consistency(old, new, SOME_HASH, SOME_HASH, [SOME_HASH])


def test_proof_generation_refuses_a_size_beyond_the_leaves() -> None:
    with pytest.raises(TreeRangeError, match="exceeds the 8 leaves"):
        inclusion_proof(LEAF_HASHES, 0, 9)
    with pytest.raises(TreeRangeError, match="exceeds the 8 leaves"):
        consistency_proof(LEAF_HASHES, 2, 9)
    with pytest.raises(TreeRangeError, match="past the 3 leaves"):
        combine(inclusion_plan(0, 8), LEAF_HASHES[:3])


def test_hashes_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(TreeRangeError, match="leaf hash 1 must be 32 bytes, got 3"):
        root_hash([SOME_HASH, b"abc"])
    with pytest.raises(ProofError, match="leaf hash 0 must be 32 bytes"):
        verify_inclusion(0, 1, b"", [], SOME_HASH)
    with pytest.raises(ProofError, match="root 0 must be 32 bytes"):
        verify_inclusion(0, 1, SOME_HASH, [], b"WrongRoot")
    with pytest.raises(ProofError, match="proof element 0 must be 32 bytes"):
        verify_inclusion(0, 2, SOME_HASH, [b""], SOME_HASH)


def test_trivial_consistency_cases() -> None:
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    verify_consistency(3, 3, ROOTS[3], ROOTS[3], [])
    with pytest.raises(ProofError, match="empty-tree hash"):
        verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(3, 3, ROOTS[3], ROOTS[4], [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(3, 3, ROOTS[3], ROOTS[3], [EMPTY_ROOT])
    with pytest.raises(ProofError, match="must not be empty"):
        verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])


def test_single_leaf_tree_root_is_the_leaf_hash() -> None:
    leaf = hash_leaf(b"data")
    assert root_hash([leaf]) == leaf
    verify_inclusion(0, 1, leaf, [], leaf)
    with pytest.raises(ProofError):
        verify_inclusion(0, 1, leaf, [], SOME_HASH)


# --- exhaustive agreement with the reference over every (index, size) and (m, n) up to 64 ---


def test_roots_agree_with_reference_for_every_size() -> None:
    for size in range(MAX_SIZE + 1):
        assert root_hash(HASHES[:size]) == ref_mth(DATA[:size]), size


def test_every_inclusion_proof_agrees_with_reference_and_verifies() -> None:
    for size in range(1, MAX_SIZE + 1):
        root = root_hash(HASHES[:size])
        for index in range(size):
            proof = inclusion_proof(HASHES, index, size)
            assert proof == ref_path(index, DATA[:size]), (index, size)
            assert root_from_inclusion_proof(index, size, HASHES[index], proof) == root
            verify_inclusion(index, size, HASHES[index], proof, root)


def test_all_proofs_at_once_agree_with_the_reference() -> None:
    assert inclusion_proofs([]) == []
    for size in range(1, MAX_SIZE + 1):
        expected = [ref_path(index, DATA[:size]) for index in range(size)]
        assert inclusion_proofs(HASHES[:size]) == expected, size


def test_a_growing_log_gets_its_root_and_the_new_leaves_proofs_in_one_pass() -> None:
    assert root_and_inclusion_proofs([]) == (EMPTY_ROOT, [])
    for size in range(1, MAX_SIZE + 1):
        for first in range(size + 1):
            root, proofs = root_and_inclusion_proofs(HASHES[:size], first)
            assert root == ref_mth(DATA[:size]), size
            assert proofs == [ref_path(i, DATA[:size]) for i in range(first, size)], (size, first)


def test_every_consistency_proof_agrees_with_reference_and_verifies() -> None:
    roots = [root_hash(HASHES[:n]) for n in range(MAX_SIZE + 1)]
    for new in range(MAX_SIZE + 1):
        for old in range(new + 1):
            proof = consistency_proof(HASHES, old, new)
            assert proof == ref_proof(old, DATA[:new]), (old, new)
            verify_consistency(old, new, roots[old], roots[new], proof)


# --- properties: any single-byte change to leaf, proof or root is caught ---

flips = st.tuples(st.integers(0, 31), st.integers(1, 255))


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[list[bytes], int]:
    leaves = draw(st.lists(st.binary(max_size=8), min_size=1, max_size=MAX_SIZE, unique=True))
    return [hash_leaf(d) for d in leaves], draw(st.integers(0, len(leaves) - 1))


def flip(h: bytes, at: int, mask: int) -> bytes:
    return h[:at] + bytes([h[at] ^ mask]) + h[at + 1 :]


@settings(max_examples=300, deadline=None)
@given(inclusion_cases(), flips, st.data())
def test_inclusion_detects_any_flipped_byte(
    case: tuple[list[bytes], int], change: tuple[int, int], data: st.DataObject
) -> None:
    hashes, index = case
    size, root, proof = len(hashes), root_hash(hashes), inclusion_proof(hashes, index)
    verify_inclusion(index, size, hashes[index], proof, root)
    at, mask = change
    target = data.draw(st.integers(-2, len(proof) - 1), label="target")
    leaf = flip(hashes[index], at, mask) if target == -2 else hashes[index]
    bad_root = flip(root, at, mask) if target == -1 else root
    bad_proof = [flip(p, at, mask) if i == target else p for i, p in enumerate(proof)]
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf, bad_proof, bad_root)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, MAX_SIZE - 1), st.integers(1, MAX_SIZE), flips, st.data())
def test_consistency_detects_any_flipped_byte(
    old: int, new: int, change: tuple[int, int], data: st.DataObject
) -> None:
    old, new = min(old, new), max(old, new)
    if old == new:
        new += 1
    r1, r2 = root_hash(HASHES[:old]), root_hash(HASHES[:new])
    proof = consistency_proof(HASHES, old, new)
    verify_consistency(old, new, r1, r2, proof)
    at, mask = change
    target = data.draw(st.integers(-2, len(proof) - 1), label="target")
    bad_r1 = flip(r1, at, mask) if target == -2 else r1
    bad_r2 = flip(r2, at, mask) if target == -1 else r2
    bad_proof = [flip(p, at, mask) if i == target else p for i, p in enumerate(proof)]
    with pytest.raises(ProofError):
        verify_consistency(old, new, bad_r1, bad_r2, bad_proof)


@settings(max_examples=200, deadline=None)
@given(inclusion_cases())
def test_proof_for_one_index_fails_for_every_other_index(case: tuple[list[bytes], int]) -> None:
    hashes, index = case
    size, root = len(hashes), root_hash(hashes)
    proof = inclusion_proof(hashes, index)
    for other in range(size):
        if other != index:
            with pytest.raises(ProofError):
                verify_inclusion(other, size, hashes[index], proof, root)
