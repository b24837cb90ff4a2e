"""Password hashes: scrypt, salted, verified in constant time, malformed hashes refused."""

from __future__ import annotations

import pytest

from opcua_server.errors import PasswordFormatError
from opcua_server.passwords import hash_password, verify_password


def test_hash_verifies_the_right_password_only() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$")
    assert "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse ", stored)


def test_salts_differ_between_hashes() -> None:
    assert hash_password("same") != hash_password("same")


def test_malformed_hash_is_a_clear_error() -> None:
    with pytest.raises(PasswordFormatError, match="scrypt"):
        verify_password("x", "plaintext-password")
