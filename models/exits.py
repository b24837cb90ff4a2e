"""The exit codes of the trustfloor command line: one table for every command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a `trustfloor` command's exit status says (0 success, anything else why not)."""

    OK = 0
    FAILURE = 1
    """An error stopped the command (its message says what failed)."""
    CONFIG = 2
    """The config file has problems (every one is listed on stderr)."""
    INVALID = 3
    """``verify``: the bundle is not authentic, not anchored, or the certificate is revoked."""
    PART_REJECTED = 4
    """``verify``: the bundle is authentic, but the certificate's verdict on the part is fail."""
    ISSUER_UNTRUSTED = 5
    """``verify``: the bundle is intact, but its issuer is not trusted: not checked (offline with
    no issuer pinned), not one of the pinned issuers, or not on the ledger's allow-list."""
