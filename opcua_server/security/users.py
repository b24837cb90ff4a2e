"""OPC UA users from the config: throttled password checks off the event loop, trustfloor roles."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Hashable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from asyncua.crypto.permission_rules import User as UaUser
from asyncua.crypto.permission_rules import UserRole
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from config import Role, User
from models import Clock, SystemClock
from opcua_server.errors import ServerError
from opcua_server.model.diagnostics import SessionCounters
from opcua_server.security.audit import AuditLog
from opcua_server.security.login_guard import LoginGuard, LoginPolicy
from opcua_server.security.passwords import PasswordChecker, hash_password

log = logging.getLogger(__name__)

HASHING_THREADS = 2
"""Password verifications running at once; more logins wait their turn (scrypt takes ~50 ms)."""
MAX_NAME_CHARS = 128
"""User names are remembered and audited up to this length (configured names are shorter)."""
UNKNOWN_PEER = "unknown"


@dataclass
class SiteUser(UaUser):  # type: ignore[misc]  # asyncua is untyped to mypy here
    """An authenticated session user with the trustfloor role that methods check."""

    site_role: Role = Role.AUDITOR


class LoginOutcome(StrEnum):
    """How one login ended, as the audit log says it."""

    ACCEPTED = "password accepted"
    CERTIFICATE_ACCEPTED = "user certificate accepted"
    WRONG_PASSWORD = "wrong password"
    UNKNOWN_USER = "unknown user"
    LOCKED_OUT = "locked out"
    UNKNOWN_CERTIFICATE = "unknown user certificate"
    NO_CREDENTIALS = "no username and password"

    @property
    def accepted(self) -> bool:
        return self in (LoginOutcome.ACCEPTED, LoginOutcome.CERTIFICATE_ACCEPTED)


@dataclass(frozen=True, slots=True)
class Activation:
    """What is known about the ActivateSession being served: the peer, and the password login
    decided for it off the event loop (None: decide in get_user)."""

    peer: str
    username: str | None = None
    accepted: bool = False


_ACTIVATION: ContextVar[Activation | None] = ContextVar("trustfloor_activation", default=None)


class KeyedLocks:
    """One asyncio lock per key, kept only while someone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


def stored_hashes(users: tuple[User, ...], environ: Mapping[str, str]) -> dict[str, str]:
    """Name → password hash; passwords given through the environment are hashed at start."""
    hashes: dict[str, str] = {}
    for user in users:
        if user.password_hash is not None:
            hashes[user.name] = user.password_hash
            continue
        if user.password_env is None:
            continue  # a certificate user
        password = environ.get(user.password_env)
        if not password:
            raise ServerError(
                f"user {user.name}: environment variable {user.password_env} is not set",
                advice=f"export {user.password_env}=... before starting trustfloor",
            )
        hashes[user.name] = hash_password(password)
    return hashes


def certificate_users(users: tuple[User, ...]) -> dict[bytes, str]:
    """DER bytes of each user certificate → user name."""
    found: dict[bytes, str] = {}
    for user in users:
        if user.certificate_file is None:
            continue
        path = user.certificate_file
        try:
            data = path.read_bytes()
            cert = (
                x509.load_pem_x509_certificate(data)
                if b"-----BEGIN" in data
                else x509.load_der_x509_certificate(data)
            )
        except (OSError, ValueError) as error:
            raise ServerError(
                f"user {user.name}: cannot read certificate {path}: {error}",
                advice="point certificate_file at the user's DER or PEM certificate",
            ) from error
        found[cert.public_bytes(serialization.Encoding.DER)] = user.name
    return found


class ConfigUserManager:
    """asyncua user manager: username + password, or an X.509 user certificate, from the config.

    A password login is checked in a worker thread (see `activation`), one at a time per user
    name and per peer address, after the backoff of their last failure; a user with too many
    recent failures is locked out. Unknown names cost the same scrypt verification as known
    ones. Every login, accepted or refused, and every lockout goes to the audit log.
    """

    def __init__(
        self,
        users: tuple[User, ...],
        environ: Mapping[str, str] | None = None,
        *,
        counters: SessionCounters | None = None,
        audit: AuditLog | None = None,
        policy: LoginPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._roles = {user.name: user.role for user in users}
        self.passwords = PasswordChecker(
            stored_hashes(users, os.environ if environ is None else environ)
        )
        self._certificates = certificate_users(users)
        self.counters = counters or SessionCounters()
        self.guard = LoginGuard(policy or LoginPolicy(), clock or SystemClock())
        self._audit = audit
        self._turns = KeyedLocks()
        self._hashing = asyncio.Semaphore(HASHING_THREADS)

    @asynccontextmanager
    async def activation(
        self, peer: str, credentials: tuple[str, str] | None
    ) -> AsyncIterator[None]:
        """Around asyncua's handling of one ActivateSession from ``peer``: a username and password
        are decided first, off the event loop, and `get_user` (called within) returns that."""
        decided = Activation(peer)
        if credentials is not None:
            username, password = credentials
            accepted = await self.login(username, password, peer)
            decided = Activation(peer, username, accepted)
        token = _ACTIVATION.set(decided)
        try:
            yield
        finally:
            _ACTIVATION.reset(token)

    async def login(self, username: str, password: str, peer: str) -> bool:
        """Whether ``username`` may log in with ``password`` from ``peer``; throttled, hashed in a
        worker thread, audited."""
        name = username[:MAX_NAME_CHARS]
        async with self._turns.hold(("peer", peer)), self._turns.hold(("user", name)):
            await asyncio.sleep(self.guard.wait_s(name, peer))
            if self.guard.is_locked(name):
                outcome = LoginOutcome.LOCKED_OUT
            else:
                async with self._hashing:
                    matched = await asyncio.to_thread(self.passwords.verify, username, password)
                outcome = self._password_outcome(username, matched)
            locked_now = self._settle(name, peer, outcome)
        await asyncio.to_thread(self._audit_login, name, peer, outcome, locked_now)
        return outcome.accepted

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> SiteUser | None:
        """The session user, or None (BadUserAccessDenied) for unknown users and wrong passwords."""
        name = self._authenticate(username, password, certificate)
        if name is None:
            self.counters.rejected += 1
            return None
        self.counters.accepted += 1
        return self._user(name)

    def _authenticate(
        self, username: str | None, password: str | None, certificate: Any
    ) -> str | None:
        activation = _ACTIVATION.get() or Activation(UNKNOWN_PEER)
        if username is None and password is None and certificate is not None:
            return self._certificate_user(certificate, activation.peer)
        if username is None or password is None:
            log.warning("refused session without username and password")
            self._audit_login("", activation.peer, LoginOutcome.NO_CREDENTIALS, False)
            return None
        if activation.username == username:
            return username if activation.accepted else None
        return self._login_on_the_loop(username, password, activation.peer)

    def _login_on_the_loop(self, username: str, password: str, peer: str) -> str | None:
        """The same decision as `login`, for a login asyncua asks about directly (hashes here)."""
        name = username[:MAX_NAME_CHARS]
        if self.guard.is_locked(name):
            outcome = LoginOutcome.LOCKED_OUT
        else:
            matched = self.passwords.verify(username, password)
            outcome = self._password_outcome(username, matched)
        locked_now = self._settle(name, peer, outcome)
        self._audit_login(name, peer, outcome, locked_now)
        return username if outcome.accepted else None

    def _password_outcome(self, username: str, matched: bool) -> LoginOutcome:
        if matched:
            return LoginOutcome.ACCEPTED
        if self.passwords.knows(username):
            return LoginOutcome.WRONG_PASSWORD
        return LoginOutcome.UNKNOWN_USER

    def _settle(self, name: str, peer: str, outcome: LoginOutcome) -> bool:
        """Record the outcome with the guard; True when it locked ``name`` out just now."""
        if outcome.accepted:
            self.guard.record_success(name, peer)
            return False
        log.warning("refused login of user %r from %s: %s", name, peer, outcome.value)
        locked_now = self.guard.record_failure(name, peer)
        if locked_now:
            policy = self.guard.policy
            log.warning(
                "user %r locked out for %.0f s after %d failed logins (last from %s)",
                name,
                policy.lockout_s,
                policy.max_failures,
                peer,
            )
        return locked_now

    def _audit_login(self, name: str, peer: str, outcome: LoginOutcome, locked_now: bool) -> None:
        if self._audit is None:
            return
        role = self._roles[name].value if name in self._roles else ""
        result = "Good" if outcome.accepted else "BadUserAccessDenied"
        detail = f"peer {peer}: {outcome.value}"
        self._audit.record(
            user=name, role=role, action="login", target="session", detail=detail, result=result
        )
        if locked_now:
            policy = self.guard.policy
            detail = (
                f"peer {peer}: {policy.max_failures} failed logins within "
                f"{policy.failure_window_s:g} s; locked for {policy.lockout_s:g} s"
            )
            self._audit.record(
                user=name,
                role=role,
                action="lockout",
                target="session",
                detail=detail,
                result=result,
            )

    def _certificate_user(self, certificate: bytes | x509.Certificate, peer: str) -> str | None:
        """The user whose certificate signed an X509 identity token (asyncua passes its DER)."""
        der = (
            certificate
            if isinstance(certificate, bytes)
            else certificate.public_bytes(serialization.Encoding.DER)
        )
        name = self._certificates.get(der)
        if name is None:
            log.warning("refused login with an unknown user certificate from %s", peer)
            self._audit_login("", peer, LoginOutcome.UNKNOWN_CERTIFICATE, False)
            return None
        self._audit_login(name, peer, LoginOutcome.CERTIFICATE_ACCEPTED, False)
        return name

    def _user(self, username: str) -> SiteUser:
        role = self._roles[username]
        ua_role = UserRole.Admin if role is Role.ADMIN else UserRole.User
        return SiteUser(role=ua_role, name=username, site_role=role)
