"""The site's secp256k1 key: recoverable signatures over leaf hashes and Ethereum addresses."""

# What is signed: the 32-byte RFC 6962 leaf hash of a record, SHA-256(0x00 || tag || JCS(doc)),
# with ECDSA over secp256k1 (SEC 2 §2.4.1), deterministic nonces (RFC 6979) and low s
# (EIP-2), as r || s || recovery id (65 bytes). The digest is used as is (no second hash, no
# EIP-191 prefix): the leaf tags and the 0x00 prefix keep it apart from anything else the key
# signs, such as Ethereum transactions (Keccak-256 of their RLP encoding). The issuer's
# Ethereum address is recovered from the signature, so the key that signs certificates is the
# account that anchors their batches.

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache, lru_cache
from itertools import islice

from coincurve import PrivateKey, PublicKey
from eth_hash.auto import keccak

from ledger.errors import SigningError

SIGNATURE_SIZE = 65
SIGNING_CHUNK = 128
"""Digests one signing thread takes at a time."""
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_ORDER = _SECP256K1_ORDER // 2


class SiteKey:
    """A site's private key; it signs digests and names its Ethereum address.

    The key never appears in ``repr`` or error messages.
    """

    __slots__ = ("_address", "_key")

    def __init__(self, secret: bytes) -> None:
        if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < _SECP256K1_ORDER:
            raise SigningError("a secp256k1 private key is 32 bytes in [1, n-1]")
        self._key = PrivateKey(secret)
        self._address = address_of(self._key.public_key)

    @classmethod
    def from_hex(cls, text: str) -> SiteKey:
        """Read a key written as 64 hex digits, with or without 0x."""
        try:
            secret = bytes.fromhex(text.strip().removeprefix("0x"))
        except ValueError:
            raise SigningError("the site key is not hexadecimal") from None
        return cls(secret)

    @classmethod
    def generate(cls) -> SiteKey:
        """A fresh random key (for a local development chain)."""
        while True:
            secret = secrets.token_bytes(32)
            if 0 < int.from_bytes(secret, "big") < _SECP256K1_ORDER:
                return cls(secret)

    @property
    def address(self) -> str:
        """The EIP-55 checksummed Ethereum address of this key."""
        return self._address

    @property
    def public_key(self) -> bytes:
        """The 33-byte compressed SEC1 public key (what did:key and JWKs are made from)."""
        compressed: bytes = self._key.public_key.format(compressed=True)
        return compressed

    def secret_hex(self) -> str:
        """The key as 0x-prefixed hex, for the file of a generated development key only."""
        return "0x" + self._key.secret.hex()

    def sign(self, digest: bytes) -> bytes:
        """The recoverable signature r || s || recovery id of a 32-byte digest."""
        if len(digest) != 32:
            raise SigningError(f"sign a 32-byte digest, not {len(digest)} bytes")
        signature: bytes = self._key.sign_recoverable(digest, hasher=None)
        return signature

    def sign_many(self, digests: Iterable[bytes]) -> list[bytes]:
        """:meth:`sign` of each digest, in order, chunk by chunk on the signing threads.

        libsecp256k1 runs without the GIL, so chunks sign on every core while the caller
        goes on producing digests (``digests`` may be a generator that encodes records).
        Signatures are deterministic (RFC 6979): the result equals signing one by one.
        """
        pending: list[Future[list[bytes]]] = []
        for chunk in _chunks(iter(digests), SIGNING_CHUNK):
            for digest in chunk:
                if len(digest) != 32:
                    raise SigningError(f"sign a 32-byte digest, not {len(digest)} bytes")
            pending.append(_signing_threads().submit(self._sign_chunk, chunk))
        return [signature for future in pending for signature in future.result()]

    def _sign_chunk(self, digests: list[bytes]) -> list[bytes]:
        sign = self._key.sign_recoverable
        return [sign(digest, hasher=None) for digest in digests]

    def __repr__(self) -> str:
        return f"SiteKey(address={self._address})"


def _chunks(items: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    while chunk := list(islice(items, size)):
        yield chunk


@cache
def _signing_threads() -> ThreadPoolExecutor:
    """One small pool per process, as many threads as cores (at most 4)."""
    return ThreadPoolExecutor(min(4, os.cpu_count() or 1), thread_name_prefix="signing")


def recover_address(digest: bytes, signature: bytes) -> str:
    """The EIP-55 address whose key made ``signature`` over ``digest``.

    Raises SigningError for a signature that is malformed, has a high s (EIP-2) or recovers
    no key.
    """
    return checksum_address(recover_signer(digest, signature))


def recover_signer(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address whose key made ``signature`` over ``digest`` (see recover_address).

    A pair given to :func:`recover_ahead` is answered from its recovery, once.
    """
    _check_shape(signature)
    ahead = _RECOVERED_AHEAD.pop((digest, signature), None)
    return ahead if ahead is not None else _signer(digest, signature)


def recover_ahead(pairs: Sequence[tuple[bytes, bytes]]) -> list[Future[None]]:
    """Recover the signer of each ``(digest, signature)`` on the signing threads, chunk by
    chunk (libsecp256k1 runs without the GIL), for :func:`recover_signer` to answer at once.

    One future per chunk of SIGNING_CHUNK pairs, in order: wait on a chunk's future before
    asking for its pairs (asked earlier, a pair is recovered again, never answered wrongly).
    A pair that recovers no signer is left for recover_signer to refuse.
    """
    if len(_RECOVERED_AHEAD) > _RECOVERED_AHEAD_KEPT:
        _RECOVERED_AHEAD.clear()  # pairs recovered ahead and never asked for
    return [
        _signing_threads().submit(_recover_chunk, list(pairs[start : start + SIGNING_CHUNK]))
        for start in range(0, len(pairs), SIGNING_CHUNK)
    ]


_RECOVERED_AHEAD: dict[tuple[bytes, bytes], bytes] = {}
_RECOVERED_AHEAD_KEPT = 1 << 16
_ADDRESSES: dict[bytes, bytes] = {}
_ADDRESSES_KEPT = 1024
"""Public keys (x || y) recovered before and their addresses: a site signs with one key."""


def _recover_chunk(pairs: list[tuple[bytes, bytes]]) -> None:
    for digest, signature in pairs:
        try:
            _check_shape(signature)
            _RECOVERED_AHEAD[(digest, signature)] = _signer(digest, signature)
        except SigningError:
            continue


def _check_shape(signature: bytes) -> None:
    if len(signature) != SIGNATURE_SIZE or signature[64] > 1:
        raise SigningError("a signature is 65 bytes: r, s and a recovery id of 0 or 1")
    if int.from_bytes(signature[32:64], "big") > _HALF_ORDER:
        raise SigningError("the signature's s is in the upper half of the curve order (EIP-2)")


def _signer(digest: bytes, signature: bytes) -> bytes:
    try:
        public_key = PublicKey.from_signature_and_message(signature, digest, hasher=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"the signature recovers no public key: {exc}") from None
    return _raw_address(public_key)


def address_of(public_key: PublicKey) -> str:
    """The EIP-55 Ethereum address of a public key."""
    return checksum_address(_raw_address(public_key))


def _raw_address(public_key: PublicKey) -> bytes:
    """The last 20 bytes of Keccak-256 of the key's x || y (Ethereum Yellow Paper, eq. 284)."""
    point = public_key.format(compressed=False)[1:]
    address = _ADDRESSES.get(point)
    if address is None:
        address = keccak(point)[12:]
        if len(_ADDRESSES) < _ADDRESSES_KEPT:
            _ADDRESSES[point] = address
    return address


def checksum_address(address: bytes) -> str:
    """The EIP-55 mixed-case hex form of a 20-byte address."""
    plain = address.hex()
    digest = keccak(plain.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(d, 16) >= 8 else c
        for c, d in zip(plain, digest[: len(plain)], strict=True)
    )


@lru_cache(maxsize=1024)
def address_bytes(address: str) -> bytes | None:
    """The 20 bytes of a 0x-prefixed hex address, or None when it is not one (the issuers a
    verifier meets are few: their addresses are kept parsed)."""
    try:
        raw = bytes.fromhex(address.removeprefix("0x"))
    except ValueError:
        return None
    return raw if len(raw) == 20 and address.startswith("0x") else None


def same_address(a: str, b: str) -> bool:
    """Whether two hex addresses name the same account, whatever their letter case."""
    return a.lower() == b.lower()
