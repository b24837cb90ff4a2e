"""The stored form of a password: what `trustfloor hash-password` writes and the config takes."""

from __future__ import annotations

import base64
import binascii

PASSWORD_HASH_SCHEME = "scrypt"
"""First field of a stored password: the key-derivation function (scrypt, RFC 7914)."""
PASSWORD_HASH_FORMAT = f"{PASSWORD_HASH_SCHEME}$N$r$p$salt$hash"
"""Fields separated by ``$``: cost N (a power of two), block size r, parallelism p, then the salt
and the derived key in standard base64."""
MIN_DIGEST_BYTES = 16


def password_hash_problem(stored: str) -> str:
    """Why ``stored`` is not a password hash in PASSWORD_HASH_FORMAT, or "" when it is one.

    The reason never quotes ``stored``: a plain password put there by mistake stays out of logs.
    """
    fields = stored.split("$")
    if len(fields) != 6 or fields[0] != PASSWORD_HASH_SCHEME:
        return f"it does not have the six fields of {PASSWORD_HASH_FORMAT}"
    cost, block_size, parallelism, salt, digest = fields[1:]
    if not all(number.isdigit() for number in (cost, block_size, parallelism)):
        return "N, r and p must be whole numbers"
    if not _is_power_of_two_above_one(int(cost)) or int(block_size) < 1 or int(parallelism) < 1:
        return "N must be a power of two above 1, and r and p at least 1"
    salt_bytes, digest_bytes = _base64(salt), _base64(digest)
    if not salt_bytes or digest_bytes is None or len(digest_bytes) < MIN_DIGEST_BYTES:
        return f"the salt and a hash of at least {MIN_DIGEST_BYTES} bytes must be base64"
    return ""


def _is_power_of_two_above_one(number: int) -> bool:
    return number > 1 and number & (number - 1) == 0


def _base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
