"""Offline check of a Besu QBFT block header: its commit seals against a pinned validator set."""

# Consensus-critical encoding: this follows Hyperledger Besu's QbftExtraDataCodec and
# BftBlockHashing (Apache-2.0) byte for byte. The extraData of a QBFT block is
# RLP([vanity (32 bytes), [validator addresses], vote or [], round, [commit seals]]). A commit seal
# is a secp256k1 signature r || s || recovery id (65 bytes) over keccak256 of the header RLP whose
# extraData carries no seals (the round kept); the block's hash on chain is keccak256 of the
# header RLP whose extraData carries no seals and round 0. A header is sealed when the distinct
# committers number at least ceil(2n/3) of the n pinned validators and every one is a validator
# (Besu's BftCommitSealsValidationRule). Nothing here does I/O.

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import rlp  # type: ignore[import-untyped]  # pyrlp ships no type information
from coincurve import PublicKey
from eth_hash.auto import keccak

from ledger.errors import LedgerError

VANITY_LENGTH = 32
ADDRESS_LENGTH = 20
SEAL_LENGTH = 65
VOTE_ADD, VOTE_DROP = b"\xff", b""
"""The vote byte of Besu's Vote.ADD_BYTE_VALUE; a drop vote is encoded as an empty string."""

BFT_MIX_HASH = bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")
"""The mixHash every Besu BFT block carries ("ctical byzantine fault tolerance")."""

HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentHash", "hash"),
    ("sha3Uncles", "hash"),
    ("miner", "hash"),
    ("stateRoot", "hash"),
    ("transactionsRoot", "hash"),
    ("receiptsRoot", "hash"),
    ("logsBloom", "hash"),
    ("difficulty", "int"),
    ("number", "int"),
    ("gasLimit", "int"),
    ("gasUsed", "int"),
    ("timestamp", "int"),
    ("extraData", "hash"),
    ("mixHash", "hash"),
    ("nonce", "hash"),
)
"""The header fields every fork has, in RLP order, with their JSON-RPC names."""

OPTIONAL_FIELDS: tuple[tuple[str, str], ...] = (
    ("baseFeePerGas", "int"),
    ("withdrawalsRoot", "hash"),
    ("blobGasUsed", "int"),
    ("excessBlobGas", "int"),
    ("parentBeaconBlockRoot", "hash"),
    ("requestsHash", "hash"),
    ("blockAccessListHash", "hash"),
    ("slotNumber", "int"),
)
"""Fields later forks append (London, Shanghai, Cancun, Prague and after), each present only
after the one before it, in Besu's BlockHeader.writeTo order. A field this list does not know
changes the hash, so such a header's seals fail: they are never accepted unchecked."""


class QbftHeaderError(LedgerError):
    """A block header or its QBFT extraData is malformed and cannot be checked."""


@dataclass(frozen=True, slots=True)
class Vote:
    """A validator vote carried in a block: add or drop ``recipient``."""

    recipient: bytes
    add: bool


@dataclass(frozen=True, slots=True)
class QbftExtraData:
    """The decoded extraData of a QBFT block (Besu's BftExtraData)."""

    vanity: bytes
    validators: tuple[bytes, ...]
    vote: Vote | None
    round: int
    seals: tuple[bytes, ...]

    @classmethod
    def decode(cls, raw: bytes) -> QbftExtraData:
        """Decode extraData the way QbftExtraDataCodec.decodeRaw does; QbftHeaderError if not."""
        try:
            items = rlp.decode(raw)
        except rlp.exceptions.DecodingError as error:
            raise QbftHeaderError(f"extraData is not RLP: {error}") from error
        if not isinstance(items, list) or len(items) < 5:
            raise QbftHeaderError("extraData must be an RLP list of 5 items (QBFT)")
        vanity, validators, vote, round_number, seals = items[:5]
        return cls(
            vanity=_bytes(vanity, "vanity"),
            validators=tuple(_sized(v, ADDRESS_LENGTH, "validator") for v in _list(validators)),
            vote=_vote(vote),
            round=_scalar(round_number),
            seals=tuple(_sized(s, SEAL_LENGTH, "commit seal") for s in _list(seals)),
        )

    def encode(self) -> bytes:
        """RLP of the whole extraData (QbftExtraDataCodec.encode, EncodingType.ALL)."""
        return _rlp(self._items(self.round, list(self.seals)))

    def without_seals(self) -> bytes:
        """RLP with an empty seal list: what commit seals sign (EXCLUDE_COMMIT_SEALS)."""
        return _rlp(self._items(self.round, []))

    def without_seals_and_round(self) -> bytes:
        """RLP with round 0 and no seals: what the block hash covers
        (EXCLUDE_COMMIT_SEALS_AND_ROUND_NUMBER)."""
        return _rlp(self._items(0, []))

    def _items(self, round_number: int, seals: list[bytes]) -> list[Any]:
        vote: list[bytes] = (
            []
            if self.vote is None
            else [self.vote.recipient, VOTE_ADD if self.vote.add else VOTE_DROP]
        )
        return [self.vanity, list(self.validators), vote, round_number, seals]


def _rlp(item: object) -> bytes:
    return bytes(rlp.encode(item))


def _bytes(item: object, what: str) -> bytes:
    if not isinstance(item, bytes):
        raise QbftHeaderError(f"extraData {what} must be a byte string")
    return item


def _list(item: object) -> list[Any]:
    if not isinstance(item, list):
        raise QbftHeaderError("extraData validators and seals must be RLP lists")
    return item


def _sized(item: object, length: int, what: str) -> bytes:
    value = _bytes(item, what)
    if len(value) != length:
        raise QbftHeaderError(f"a {what} must be {length} bytes, not {len(value)}")
    return value


def _scalar(item: object) -> int:
    """An RLP scalar (readIntScalar): big-endian, no leading zero byte, at most 4 bytes."""
    value = _bytes(item, "round")
    if len(value) > 4 or value.startswith(b"\x00"):
        raise QbftHeaderError("the round must be a minimal scalar of at most 4 bytes")
    return int.from_bytes(value, "big")


def _vote(item: object) -> Vote | None:
    items = _list(item)
    if not items:
        return None
    if len(items) != 2:
        raise QbftHeaderError("a vote is [recipient, vote byte]")
    recipient = _sized(items[0], ADDRESS_LENGTH, "vote recipient")
    kind = _bytes(items[1], "vote byte")
    if kind not in (VOTE_ADD, VOTE_DROP):
        raise QbftHeaderError("a vote byte is 0xff (add) or empty (drop)")
    return Vote(recipient, add=kind == VOTE_ADD)


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """A block header as RLP fields in order, extraData decoded (number 0 is the genesis)."""

    fields: tuple[bytes | int, ...]
    extra: QbftExtraData
    number: int

    @classmethod
    def from_rpc(cls, block: Mapping[str, Any]) -> BlockHeader:
        """From an ``eth_getBlockByNumber`` answer (hex strings, JSON-RPC names)."""
        fields: list[bytes | int] = []
        for name, kind in HEADER_FIELDS:
            if name not in block:
                raise QbftHeaderError(f"the block header has no {name}")
            fields.append(_field(block[name], kind, name))
        for name, kind in OPTIONAL_FIELDS:
            if block.get(name) is None:
                break
            fields.append(_field(block[name], kind, name))
        raw_extra, number = fields[12], fields[8]
        assert isinstance(raw_extra, bytes)
        assert isinstance(number, int)
        return cls(tuple(fields), QbftExtraData.decode(raw_extra), number)

    @classmethod
    def from_rlp(cls, raw: bytes) -> BlockHeader:
        """Decode a header's RLP as ``rlp()`` writes it; QbftHeaderError when it is not a header
        (15 fields and the later forks' ones, scalars minimal) or its extraData is not QBFT."""
        try:
            items = rlp.decode(raw)
        except rlp.exceptions.DecodingError as error:
            raise QbftHeaderError(f"the block header is not RLP: {error}") from error
        known = HEADER_FIELDS + OPTIONAL_FIELDS
        if not isinstance(items, list) or not len(HEADER_FIELDS) <= len(items) <= len(known):
            raise QbftHeaderError(
                f"a block header is an RLP list of {len(HEADER_FIELDS)} to {len(known)} fields"
            )
        fields = tuple(
            _decoded_field(item, kind, name)
            for item, (name, kind) in zip(items, known, strict=False)
        )
        raw_extra, number = fields[12], fields[8]
        assert isinstance(raw_extra, bytes)
        assert isinstance(number, int)
        return cls(fields, QbftExtraData.decode(raw_extra), number)

    def rlp(self) -> bytes:
        """The header's RLP as the block carries it (extraData with its seals)."""
        return _rlp(list(self.fields))

    def rlp_with(self, extra_data: bytes) -> bytes:
        """The header's RLP with ``extra_data`` in place of its extraData (BftBlockHashing)."""
        fields = list(self.fields)
        if self.number != 0:  # the genesis keeps its extraData as it is
            fields[12] = extra_data
        return _rlp(fields)

    def with_extra(self, extra: QbftExtraData) -> BlockHeader:
        """The same header carrying ``extra`` (to build or tamper with test headers)."""
        fields = list(self.fields)
        fields[12] = extra.encode()
        return replace(self, fields=tuple(fields), extra=extra)


def _field(value: object, kind: str, name: str) -> bytes | int:
    text = str(value)
    if not text.startswith("0x"):
        raise QbftHeaderError(f"header field {name} must be a 0x hex string")
    try:
        if kind == "int":
            return int(text, 16)
        return bytes.fromhex(text[2:])
    except ValueError as error:
        raise QbftHeaderError(f"header field {name} is not hex: {error}") from error


def _decoded_field(item: object, kind: str, name: str) -> bytes | int:
    if not isinstance(item, bytes):
        raise QbftHeaderError(f"header field {name} must be a byte string")
    if kind != "int":
        return item
    if item.startswith(b"\x00"):
        raise QbftHeaderError(f"header field {name} must be a minimal scalar")
    return int.from_bytes(item, "big")


def commit_seal_hash(header: BlockHeader) -> bytes:
    """What each commit seal signs (BftBlockHashing.calculateDataHashForCommittedSeal)."""
    return keccak(header.rlp_with(header.extra.without_seals()))


def onchain_hash(header: BlockHeader) -> bytes:
    """The block's hash on chain (BftBlockHashing.calculateHashOfBftBlockOnchain)."""
    return keccak(header.rlp_with(header.extra.without_seals_and_round()))


def address_of(public_key: PublicKey) -> bytes:
    """The Ethereum address of a secp256k1 public key."""
    return keccak(public_key.format(compressed=False)[1:])[-ADDRESS_LENGTH:]


def committer_of(seal: bytes, digest: bytes) -> bytes:
    """The address that made ``seal`` over ``digest``; QbftHeaderError when none recovers."""
    if seal[64] > 1:
        raise QbftHeaderError(f"a commit seal's recovery id must be 0 or 1, not {seal[64]}")
    try:
        key = PublicKey.from_signature_and_message(seal, digest, hasher=None)
    except (ValueError, TypeError) as error:
        raise QbftHeaderError(f"a commit seal recovers no key: {error}") from error
    return address_of(key)


def quorum(validators: int) -> int:
    """Seals a block needs: ceil(2n/3) (BftHelpers.calculateRequiredValidatorQuorum)."""
    return -(-2 * validators // 3)


@dataclass(frozen=True, slots=True)
class SealVerdict:
    """Whether a header is sealed by the pinned validators, with the reasons when it is not."""

    block_hash: bytes
    committers: tuple[bytes, ...]
    required: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_commit_seals(header: BlockHeader, validators: Sequence[bytes]) -> SealVerdict:
    """Check ``header``'s commit seals against the pinned ``validators`` (20-byte addresses).

    Requires a non-empty validator set. Fails on a seal that recovers no key, a committer
    sealing twice, a committer outside the set, or fewer distinct committers than the quorum.
    """
    if not validators:
        raise QbftHeaderError("pin at least one validator address")
    pinned = {bytes(v) for v in validators}
    digest = commit_seal_hash(header)
    problems: list[str] = []
    committers: list[bytes] = []
    for index, seal in enumerate(header.extra.seals):
        try:
            committers.append(committer_of(seal, digest))
        except QbftHeaderError as error:
            problems.append(f"seal {index}: {error}")
    if len(set(committers)) != len(committers):
        problems.append("a committer sealed the block twice")
    outsiders = sorted({c for c in committers if c not in pinned})
    problems.extend(f"0x{c.hex()} sealed but is not a pinned validator" for c in outsiders)
    required = quorum(len(pinned))
    distinct = len(set(committers) & pinned)
    if distinct < required:
        problems.append(f"{distinct} validator seals, {required} needed of {len(pinned)}")
    return SealVerdict(onchain_hash(header), tuple(committers), required, tuple(problems))
