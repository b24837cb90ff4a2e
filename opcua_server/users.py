"""OPC UA users from the config: password check against stored hashes, trustfloor roles."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asyncua.crypto.permission_rules import User as UaUser
from asyncua.crypto.permission_rules import UserRole
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from config import Role, User
from opcua_server.diagnostics import SessionCounters
from opcua_server.errors import ServerError
from opcua_server.passwords import hash_password, verify_password

log = logging.getLogger(__name__)


@dataclass
class SiteUser(UaUser):  # type: ignore[misc]  # asyncua is untyped to mypy here
    """An authenticated session user with the trustfloor role that methods check."""

    site_role: Role = Role.AUDITOR


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
    """asyncua user manager: username + password, or an X.509 user certificate, from the config."""

    def __init__(
        self,
        users: tuple[User, ...],
        environ: Mapping[str, str] | None = None,
        *,
        counters: SessionCounters | None = None,
    ) -> None:
        self._roles = {user.name: user.role for user in users}
        self._hashes = stored_hashes(users, os.environ if environ is None else environ)
        self._certificates = certificate_users(users)
        self.counters = counters or SessionCounters()

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
        if username is None and password is None and certificate is not None:
            return self._certificate_user(certificate)
        if username is None or password is None:
            log.warning("refused session without username and password")
            return None
        stored = self._hashes.get(username)
        if stored is None or not verify_password(password, stored):
            log.warning("refused login of user %r: unknown user or wrong password", username)
            return None
        return username

    def _certificate_user(self, certificate: bytes | x509.Certificate) -> str | None:
        """The user whose certificate signed an X509 identity token (asyncua passes its DER)."""
        der = (
            certificate
            if isinstance(certificate, bytes)
            else certificate.public_bytes(serialization.Encoding.DER)
        )
        name = self._certificates.get(der)
        if name is None:
            log.warning("refused login with an unknown user certificate")
        return name

    def _user(self, username: str) -> SiteUser:
        role = self._roles[username]
        ua_role = UserRole.Admin if role is Role.ADMIN else UserRole.User
        return SiteUser(role=ua_role, name=username, site_role=role)
