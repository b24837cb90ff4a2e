"""did:key identifiers and JSON Web Keys for the site's secp256k1 key."""

from __future__ import annotations

import base64

import base58
import coincurve

from ledger.errors import ExportError

DID_KEY_PREFIX = "did:key:z"
SECP256K1_PUB_MULTICODEC = b"\xe7\x01"
"""Multicodec varint of secp256k1-pub (0xe7), which opens the key in a did:key."""


def did_key(public_key: bytes) -> str:
    """The did:key of a compressed secp256k1 public key (multibase base58btc, ``z``)."""
    if len(public_key) != 33:
        raise ExportError("a did:key is made from a 33-byte compressed secp256k1 key")
    encoded = base58.b58encode(SECP256K1_PUB_MULTICODEC + public_key).decode("ascii")
    return DID_KEY_PREFIX + encoded


def public_key_of(did: str) -> bytes:
    """The compressed secp256k1 key a did:key names; ExportError for any other DID."""
    if not did.startswith(DID_KEY_PREFIX):
        raise ExportError(f"{did!r} is not a did:key")
    try:
        raw = base58.b58decode(did.removeprefix(DID_KEY_PREFIX))
    except ValueError:
        raise ExportError(f"{did!r} is not base58btc") from None
    if not raw.startswith(SECP256K1_PUB_MULTICODEC) or len(raw) != 35:
        raise ExportError(f"{did!r} does not name a secp256k1 key")
    return raw[2:]


def verification_method(did: str) -> str:
    """The key's id inside its own DID document: the DID with its key as fragment."""
    return f"{did}#{did.removeprefix('did:key:')}"


def public_jwk(public_key: bytes) -> dict[str, str | list[str]]:
    """The public key as a JWK (RFC 7517, crv secp256k1 after RFC 8812)."""
    point = coincurve.PublicKey(public_key).format(compressed=False)
    return {"kty": "EC", "crv": "secp256k1", "x": b64url(point[1:33]), "y": b64url(point[33:])}


def private_jwk(public_key: bytes, secret: bytes) -> dict[str, str | list[str]]:
    """The key pair as a JWK, for signing only: it never leaves the process."""
    return {**public_jwk(public_key), "d": b64url(secret)}


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
