"""Whole batches proven at once answer every inclusion proof as hashing its path does."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.batch_proofs import inclusion_root, prove_batches_ahead
from ledger.errors import ProofError
from ledger.merkle import inclusion_proofs, root_from_inclusion_proof, root_hash
from models.parts import AttestedRecord, InclusionProof, RecordKind


def _records(leaves: list[bytes], root: bytes, first: int = 0) -> list[AttestedRecord]:
    """The records of ``leaves[first:]``, each proven in the tree of every leaf."""
    return [
        AttestedRecord.model_construct(
            kind=RecordKind.CERTIFICATE,
            document={},
            signature="",
            leaf_hash=leaf.hex(),
            proof=InclusionProof.model_construct(
                leaf_index=index,
                tree_size=len(leaves),
                path=tuple(p.hex() for p in path),
                root=root.hex(),
            ),
            anchor=None,
        )
        for index, (leaf, path) in enumerate(zip(leaves, inclusion_proofs(leaves), strict=True))
        if index >= first
    ]


def _answer(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | type[ProofError]:
    try:
        return inclusion_root(index, size, leaf, path)
    except ProofError:
        return ProofError


def _hashed(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | type[ProofError]:
    try:
        return root_from_inclusion_proof(index, size, leaf, path)
    except ProofError:
        return ProofError


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 40),
    data=st.data(),
    whole=st.booleans(),
    bend=st.booleans(),
)
def test_every_path_gets_the_root_hashing_it_gives(
    size: int, data: st.DataObject, whole: bool, bend: bool
) -> None:
    leaves = [hashlib.sha256(bytes([n, size])).digest() for n in range(size)]
    root = root_hash(leaves)
    records = _records(leaves, root)
    prove_batches_ahead(records if whole else records[1:])
    index = data.draw(st.integers(0, size - 1))
    path = inclusion_proofs(leaves)[index]
    if bend and path:
        at = data.draw(st.integers(0, len(path) - 1))
        path[at] = hashlib.sha256(path[at]).digest()
    asked = (index, size, leaves[index], path)
    assert _answer(*asked) == _hashed(*asked)
    assert (_answer(*asked) == root) is not (bend and bool(path))


def test_a_batch_whose_records_name_another_root_is_left_to_each_proof() -> None:
    leaves = [hashlib.sha256(bytes([n])).digest() for n in range(5)]
    claimed = hashlib.sha256(b"another root").digest()
    prove_batches_ahead(_records(leaves, claimed))
    path = inclusion_proofs(leaves)[2]
    assert inclusion_root(2, 5, leaves[2], path) == root_hash(leaves) != claimed


def test_a_malformed_proof_is_refused_as_when_hashed() -> None:
    leaf = hashlib.sha256(b"x").digest()
    with pytest.raises(ProofError):
        inclusion_root(3, 2, leaf, [])


def test_the_trees_of_a_site_log_are_proven_from_the_records_of_earlier_batches() -> None:
    log = [hashlib.sha256(bytes([n, 99])).digest() for n in range(24)]
    sizes = (8, 16, 24)  # each batch is the log's tree after it grew
    records = [
        record
        for before, size in zip((0, *sizes), sizes, strict=False)
        for record in _records(log[:size], root_hash(log[:size]), first=before)
    ]
    assert prove_batches_ahead(records) == len(log)
    for record in records:
        assert record.proof is not None
        path = [bytes.fromhex(p) for p in record.proof.path]
        asked = (
            record.proof.leaf_index,
            record.proof.tree_size,
            log[record.proof.leaf_index],
            path,
        )
        assert _answer(*asked) == _hashed(*asked) == bytes.fromhex(record.proof.root)


def test_records_that_disagree_on_a_log_leaf_leave_its_paths_to_hashing() -> None:
    log = [hashlib.sha256(bytes([n, 98])).digest() for n in range(16)]
    other = [hashlib.sha256(bytes([n, 97])).digest() for n in range(8)]  # another log's start
    records = [
        *_records(other, root_hash(other)),
        *_records(log[:8], root_hash(log[:8])),
        *_records(log, root_hash(log), first=8),
    ]
    assert prove_batches_ahead(records) == 16  # the two trees of 8 whole; not the tree of 16
    index, path = 9, inclusion_proofs(log)[9]
    assert inclusion_root(index, 16, log[index], path) == root_hash(log)
