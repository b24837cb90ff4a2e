"""Password hashing for OPC UA users: scrypt (RFC 7914) with a per-user salt."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from opcua_server.errors import PasswordFormatError

_N, _R, _P = 2**14, 8, 1
_PREFIX = "scrypt"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), the form the config's ``password_hash`` takes."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join([_PREFIX, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    try:
        prefix, n, r, p, salt_text, digest_text = stored.split("$")
        if prefix != _PREFIX:
            raise ValueError(prefix)
        salt, expected = base64.b64decode(salt_text), base64.b64decode(digest_text)
        actual = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError as error:
        raise PasswordFormatError(
            "password hash is not scrypt$N$r$p$salt$hash",
            advice="create one with `trustfloor hash-password`",
        ) from error
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
