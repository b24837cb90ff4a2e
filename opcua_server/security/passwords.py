"""Password hashing for OPC UA users: scrypt (RFC 7914) with a per-user salt."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping

from config import PASSWORD_HASH_FORMAT, PASSWORD_HASH_SCHEME
from opcua_server.errors import PasswordFormatError

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), the form the config's ``password_hash`` takes."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join([PASSWORD_HASH_SCHEME, str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``, compared in constant time."""
    try:
        prefix, n, r, p, salt_text, digest_text = stored.split("$")
        if prefix != PASSWORD_HASH_SCHEME:
            raise ValueError(prefix)
        salt, expected = base64.b64decode(salt_text), base64.b64decode(digest_text)
        actual = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError as error:
        raise PasswordFormatError(
            f"password hash is not {PASSWORD_HASH_FORMAT}",
            advice="create one with `trustfloor hash-password`",
        ) from error
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class PasswordChecker:
    """Checks a user's password against the stored hashes; an unknown name is checked against a
    stand-in hash, so refusing it costs one scrypt verification like refusing a known user.

    Counts its verifications, and those made on a thread running an event loop (a login that
    blocked the server): thread-safe, since logins are verified in worker threads.
    """

    def __init__(self, hashes: Mapping[str, str]) -> None:
        self._hashes = dict(hashes)
        self._stand_in = hash_password(secrets.token_urlsafe(24))
        self._lock = threading.Lock()
        self.verifications = 0
        self.verifications_on_event_loop = 0

    def knows(self, name: str) -> bool:
        """Whether ``name`` has a password."""
        return name in self._hashes

    def verify(self, name: str, password: str) -> bool:
        """Whether ``password`` is ``name``'s; False for unknown names, after the same work."""
        stored = self._hashes.get(name)
        matched = verify_password(password, self._stand_in if stored is None else stored)
        self._count_verification()
        return stored is not None and matched

    def _count_verification(self) -> None:
        on_loop = _event_loop_running()
        with self._lock:
            self.verifications += 1
            self.verifications_on_event_loop += on_loop


def _event_loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
