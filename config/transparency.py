"""Settings of the site's transparency log: its name, witnesses, and the log keys verifiers pin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from models import ConfigRecord

VERIFIER_KEY_PATTERN = r"^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$"
"""A C2SP signed-note verifier key: <key name>+<hex key id>+<base64 type and public key>."""

LogKey = Annotated[str, Field(pattern=VERIFIER_KEY_PATTERN)]
"""A site log's verifier key (`trustfloor witness log-key` prints it)."""

LogName = Annotated[str, Field(pattern=r"^[^\s+]*$", max_length=200)]
"""A checkpoint origin: one line, no spaces, no '+' (a note key name)."""


class WitnessEndpoint(ConfigRecord):
    """A witness the site asks to cosign its checkpoints, and whose cosignatures count."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="a label: oem, notary, ..."
    )
    key: str = Field(
        pattern=VERIFIER_KEY_PATTERN,
        description="the witness's verifier key (`trustfloor witness key` prints it)",
    )
    url: str = Field(
        pattern=r"^https?://[^\s/]+(/[^\s]*)?$",
        description="its base URL; the site POSTs to <url>/add-checkpoint",
    )


def witness_problem(witnesses: Sequence[WitnessEndpoint], quorum: int) -> str | None:
    """What is wrong with a witness list and its quorum, or None."""
    names = [w.name for w in witnesses]
    if len(set(names)) != len(names):
        return "ledger.witnesses: each witness needs its own name"
    if len({w.key for w in witnesses}) != len(witnesses):
        return "ledger.witnesses: each witness needs its own key"
    if quorum > len(witnesses):
        return f"ledger.witness_quorum {quorum} exceeds the {len(witnesses)} witnesses configured"
    return None


def log_origin(log_name: str, site_name: str) -> str:
    """The checkpoint origin: ``log_name``, else ``trustfloor/<site name>`` (spaces as '-')."""
    if log_name:
        return log_name
    cleaned = "".join("-" if c.isspace() or c == "+" else c for c in site_name) or "site"
    return f"trustfloor/{cleaned}"
