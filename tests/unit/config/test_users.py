"""[[server.users]]: password hashes in the hasher's format only, one entry per user name."""

from __future__ import annotations

import pytest

from config import PASSWORD_HASH_FORMAT, PASSWORD_HASH_SCHEME, parse_settings
from opcua_server.security.passwords import hash_password
from tests.unit.config.config_kit import demo_raw, problems_of

HASHED = hash_password("mes-secret-1", salt=bytes(16))


def with_users(*users: dict[str, str]) -> list[str]:
    raw = demo_raw()
    raw["server"]["users"] = list(users)
    return problems_of(raw)


@pytest.mark.parametrize(
    "stored",
    [
        "hunter2",
        "scrypt$...",
        "$".join(["scrypt", "16384", "8", "1", "c2FsdA==", "not base64!"]),
        "$".join(["bcrypt", "16384", "8", "1", "c2FsdA==", "ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"]),
        "$".join(["scrypt", "1000", "8", "1", "c2FsdA==", "ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0"]),
        HASHED + "$extra",
    ],
)
def test_a_password_hash_not_in_the_hashers_format_is_refused(stored: str) -> None:
    [problem] = with_users({"name": "mes", "role": "mes", "password_hash": stored})
    assert problem.startswith("server.users[0].password_hash: ")
    assert PASSWORD_HASH_FORMAT in problem
    assert "trustfloor hash-password" in problem
    assert stored not in problem, "a plain password must not be echoed"


def test_the_hashers_output_is_accepted_and_its_scheme_is_the_configs() -> None:
    assert HASHED.startswith(PASSWORD_HASH_SCHEME + "$")
    raw = demo_raw()
    raw["server"]["users"] = [{"name": "mes", "role": "mes", "password_hash": HASHED}]
    assert parse_settings(raw).server.users[0].password_hash == HASHED


@pytest.mark.parametrize("second", ["mes", "MES", "Mes"])
def test_user_names_alike_but_for_case_are_one_user_too_many(second: str) -> None:
    problems = with_users(
        {"name": "mes", "role": "mes", "password_hash": HASHED},
        {"name": "planner", "role": "planner", "password_hash": HASHED},
        {"name": second, "role": "admin", "password_hash": HASHED},
    )
    assert problems == [
        f"server.users[2].name: user '{second}' repeats server.users[0] ('mes');"
        " names are compared without case: keep one entry per user"
    ]


def test_one_user_certificate_logs_in_as_one_user() -> None:
    problems = with_users(
        {"name": "mes", "role": "mes", "certificate_file": "pki/users/mes.der"},
        {"name": "auditor", "role": "auditor", "certificate_file": "pki/users/mes.der"},
    )
    assert problems == [
        "server.users[1].certificate_file: the certificate of server.users[0] ('mes');"
        " give each user a certificate of its own"
    ]
