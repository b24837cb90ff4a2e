"""OPC UA users from the config: password check against stored hashes, trustfloor roles."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asyncua.crypto.permission_rules import User as UaUser
from asyncua.crypto.permission_rules import UserRole

from config import Role, User
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
        assert user.password_env is not None
        password = environ.get(user.password_env)
        if not password:
            raise ServerError(
                f"user {user.name}: environment variable {user.password_env} is not set",
                advice=f"export {user.password_env}=... before starting trustfloor",
            )
        hashes[user.name] = hash_password(password)
    return hashes


class ConfigUserManager:
    """asyncua user manager: username + password checked against the config's users."""

    def __init__(self, users: tuple[User, ...], environ: Mapping[str, str] | None = None) -> None:
        self._roles = {user.name: user.role for user in users}
        self._hashes = stored_hashes(users, os.environ if environ is None else environ)

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> SiteUser | None:
        """The session user, or None (BadUserAccessDenied) for unknown users and wrong passwords."""
        if username is None or password is None:
            log.warning("refused session without username and password")
            return None
        stored = self._hashes.get(username)
        if stored is None or not verify_password(password, stored):
            log.warning("refused login of user %r: unknown user or wrong password", username)
            return None
        role = self._roles[username]
        ua_role = UserRole.Admin if role is Role.ADMIN else UserRole.User
        return SiteUser(role=ua_role, name=username, site_role=role)
