"""The exit codes every trustfloor command ends with: one table, the documented numbers."""

from __future__ import annotations

from models import ExitCode


def test_the_exit_codes_keep_their_documented_numbers() -> None:
    """Scripts and the README rely on these numbers: changing one breaks their callers."""
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "FAILURE": 1,
        "CONFIG": 2,
        "INVALID": 3,
        "PART_REJECTED": 4,
        "ISSUER_UNTRUSTED": 5,
    }
