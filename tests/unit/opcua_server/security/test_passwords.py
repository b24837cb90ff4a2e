"""Password hashes: scrypt, salted, verified in constant time, malformed hashes refused."""

from __future__ import annotations

import asyncio

import pytest

from opcua_server.errors import PasswordFormatError
from opcua_server.security.passwords import PasswordChecker, hash_password, verify_password


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


def test_checker_accepts_only_the_right_password_of_a_known_user() -> None:
    checker = PasswordChecker({"mes": hash_password("mes-secret")})
    assert checker.verify("mes", "mes-secret")
    assert not checker.verify("mes", "wrong")
    assert not checker.verify("nobody", "mes-secret")


def test_unknown_users_cost_one_hash_verification_like_known_ones() -> None:
    checker = PasswordChecker({"mes": hash_password("mes-secret")})
    checker.verify("mes", "wrong")
    assert checker.verifications == 1
    checker.verify("nobody", "wrong")
    assert checker.verifications == 2, "an unknown name is checked against a stand-in hash"


def test_checker_counts_verifications_made_on_an_event_loop() -> None:
    checker = PasswordChecker({"mes": hash_password("mes-secret")})

    async def on_the_loop() -> None:
        checker.verify("mes", "mes-secret")

    async def in_a_thread() -> None:
        await asyncio.to_thread(checker.verify, "mes", "mes-secret")

    asyncio.run(in_a_thread())
    assert checker.verifications_on_event_loop == 0
    asyncio.run(on_the_loop())
    assert checker.verifications_on_event_loop == 1
