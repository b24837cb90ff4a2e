"""QBFT commit seals checked offline: Besu's extraData vectors and headers sealed by four keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]  # pyrlp ships no type information
from eth_hash.auto import keccak

from ledger.qbft import (
    BlockHeader,
    QbftExtraData,
    QbftHeaderError,
    Vote,
    address_of,
    commit_seal_hash,
    onchain_hash,
    quorum,
    verify_commit_seals,
)
from tests.unit.ledger.qbftkit import (
    KEYS,
    OUTSIDER,
    VALIDATORS,
    VECTORS,
    rpc_block,
    sealed,
    unhex,
)


@pytest.mark.parametrize("vector", VECTORS["extra_data"], ids=["codec-test", "genesis"])
def test_besu_extra_data_decodes_to_its_fields_and_encodes_back(vector: dict[str, Any]) -> None:
    extra = QbftExtraData.decode(unhex(vector["raw"]))
    assert extra.vanity == unhex(vector["vanity"])
    assert list(extra.validators) == [unhex(v) for v in vector["validators"]]
    expected_vote = vector["vote"]
    assert extra.vote == (
        None
        if expected_vote is None
        else Vote(unhex(expected_vote["recipient"]), add=expected_vote["add"])
    )
    assert extra.round == vector["round"]
    assert list(extra.seals) == [unhex(s) for s in vector["seals"]]
    assert extra.encode() == unhex(vector["raw"])


def reference_hash(header: BlockHeader, round_number: int, seals: list[bytes]) -> bytes:
    """keccak256 of the header RLP with extraData rebuilt by hand (vanity, validators, no vote)."""
    extra = rlp.encode([bytes(32), list(VALIDATORS), [], round_number, seals])
    fields = list(header.fields)
    fields[12] = extra
    return bytes(keccak(rlp.encode(fields)))


def test_a_header_sealed_by_all_four_validators_verifies() -> None:
    header = sealed(KEYS)
    verdict = verify_commit_seals(header, VALIDATORS)
    assert verdict.ok, verdict.problems
    assert verdict.committers == tuple(VALIDATORS)
    assert verdict.required == 3
    assert verdict.block_hash == reference_hash(header, 0, [])
    assert commit_seal_hash(header) == reference_hash(header, 3, [])


def test_the_block_hash_ignores_seals_and_round() -> None:
    assert onchain_hash(sealed(KEYS, round_number=0)) == onchain_hash(sealed(KEYS[:3], 7))


def test_three_of_four_seals_are_a_quorum_and_two_are_one_short() -> None:
    assert verify_commit_seals(sealed(KEYS[1:]), VALIDATORS).ok
    short = verify_commit_seals(sealed(KEYS[:2]), VALIDATORS)
    assert not short.ok
    assert short.problems == ("2 validator seals, 3 needed of 4",)


def test_a_seal_by_a_key_outside_the_pinned_set_fails() -> None:
    verdict = verify_commit_seals(sealed([*KEYS[:3], OUTSIDER]), VALIDATORS)
    outsider = address_of(OUTSIDER.public_key).hex()
    assert verdict.problems == (f"0x{outsider} sealed but is not a pinned validator",)


def test_a_field_changed_after_sealing_breaks_every_seal() -> None:
    header = sealed(KEYS)
    tampered = BlockHeader.from_rpc(
        {**rpc_block(header.extra), "gasUsed": "0x5208"}  # 21000 gas that nobody sealed
    )
    verdict = verify_commit_seals(tampered, VALIDATORS)
    assert not verdict.ok
    assert not set(verdict.committers) & set(VALIDATORS)


def test_the_same_seal_twice_is_refused() -> None:
    header = sealed(KEYS[:3])
    doubled = header.with_extra(
        replace(header.extra, seals=(*header.extra.seals, header.extra.seals[0]))
    )
    assert "a committer sealed the block twice" in verify_commit_seals(doubled, VALIDATORS).problems


def test_later_fork_fields_are_hashed_in_order() -> None:
    plain = sealed(KEYS)
    london = sealed(KEYS, baseFeePerGas="0x7", withdrawalsRoot="0x" + "11" * 32)
    assert len(london.fields) == len(plain.fields) + 2
    assert verify_commit_seals(london, VALIDATORS).ok
    assert onchain_hash(london) != onchain_hash(plain)


@pytest.mark.parametrize(("n", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (6, 4), (7, 5)])
def test_quorum_is_two_thirds_rounded_up(n: int, needed: int) -> None:
    assert quorum(n) == needed


@pytest.mark.parametrize(
    "raw",
    [
        b"\x01",
        rlp.encode([bytes(32), [], []]),
        rlp.encode([bytes(32), [b"\x01"], [], 0, []]),
        rlp.encode([bytes(32), [], [bytes(20), b"\x01"], 0, []]),
        rlp.encode([bytes(32), [], [], b"\x00\x01", []]),
        rlp.encode([bytes(32), [], [], 0, [bytes(64)]]),
    ],
    ids=["not-rlp", "three-items", "short-address", "bad-vote", "padded-round", "short-seal"],
)
def test_malformed_extra_data_is_refused(raw: bytes) -> None:
    with pytest.raises(QbftHeaderError):
        QbftExtraData.decode(raw)


def test_the_genesis_keeps_its_extra_data_in_its_hash() -> None:
    genesis = VECTORS["extra_data"][1]
    header = BlockHeader.from_rpc(
        {**rpc_block(QbftExtraData.decode(unhex(genesis["raw"]))), "number": "0x0"}
    )
    assert onchain_hash(header) == bytes(keccak(rlp.encode(list(header.fields))))


def test_pin_validators_reads_the_validators_of_a_genesis(tmp_path: Path) -> None:
    genesis = tmp_path / "genesis.json"
    extra = QbftExtraData(bytes(32), tuple(VALIDATORS), None, 0, ()).encode()
    genesis.write_text(json.dumps({"extraData": "0x" + extra.hex()}))
    script = Path(__file__).parents[3] / "deploy" / "besu-qbft" / "pin_validators.py"
    printed = subprocess.run(
        [sys.executable, str(script), str(genesis)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(script.parents[2])},
    )
    assert json.loads(printed.stdout) == ["0x" + v.hex() for v in VALIDATORS]
