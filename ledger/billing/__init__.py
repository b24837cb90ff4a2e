"""Usage and billing statements: a site's signed month per design, checked offline and on chain."""

from __future__ import annotations

from ledger.billing.commands import (
    STATEMENTS_DIR,
    accept_statement,
    issue_statements,
    render_issued,
    verify_statement_file,
)
from ledger.billing.document import SignedStatement, read_statement
from ledger.billing.verify import verify_statement_offline, verify_statement_online

__all__ = [
    "STATEMENTS_DIR",
    "SignedStatement",
    "accept_statement",
    "issue_statements",
    "read_statement",
    "render_issued",
    "verify_statement_file",
    "verify_statement_offline",
    "verify_statement_online",
]
