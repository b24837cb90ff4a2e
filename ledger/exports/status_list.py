"""W3C Bitstring Status List v1.0: the revocation bits of every certificate a site issued."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterable
from datetime import datetime

from ledger.canonical import JsonObject
from ledger.errors import ExportError

MIN_BITS = 131_072
"""The smallest list the specification allows (16 KiB), so that one entry hides in the crowd."""

REVOCATION = "revocation"
SUSPENSION = "suspension"
STATUS_PURPOSES = (REVOCATION, SUSPENSION)
"""The lists a site publishes: revoked for good, or held by a recall until lifted."""
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"


def encoded_list(set_bits: Iterable[int], size: int = MIN_BITS) -> str:
    """The list's ``encodedList``: multibase base64url (``u``) of the GZIP of the bitstring,
    where index 0 is the most significant bit of the first byte."""
    bits = bytearray(max(size, MIN_BITS) // 8)
    for index in set_bits:
        if not 0 <= index < len(bits) * 8:
            raise ExportError(f"status index {index} is outside a list of {len(bits) * 8} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def bit_is_set(encoded: str, index: int) -> bool:
    """Whether entry ``index`` of an ``encodedList`` is set (what a verifier does)."""
    if not encoded.startswith("u"):
        raise ExportError("an encodedList is multibase base64url and starts with 'u'")
    padded = encoded[1:] + "=" * (-len(encoded[1:]) % 4)
    try:
        bits = gzip.decompress(base64.urlsafe_b64decode(padded))
    except (ValueError, OSError) as error:
        raise ExportError(f"the encodedList does not decode: {error}") from None
    if not 0 <= index < len(bits) * 8:
        raise ExportError(f"status index {index} is outside a list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    *, url: str, issuer: str, purpose: str, set_bits: Iterable[int], valid_from: datetime
) -> JsonObject:
    """The unsigned BitstringStatusListCredential published at ``url``."""
    return {
        "@context": [VC_V2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _iso(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list(set_bits),
        },
    }


def status_entry(*, list_url: str, purpose: str, index: int) -> JsonObject:
    """A credential's ``credentialStatus`` entry pointing at bit ``index`` of the list."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def _iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")
