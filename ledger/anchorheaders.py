"""A bundle's QBFT anchor headers checked offline against the validators a verifier pins."""

# On a Besu QBFT chain each receipt carries the anchoring block's header (RLP hex, with the
# validators' commit seals in its extraData). With validators pinned (`trustfloor verify
# --validators FILE`), every anchored record's header must be sealed by a quorum of them
# (ledger/qbft.py) and be the block the receipt names. A receipt without a header (anvil, or a
# chain of another consensus) fails then: the verifier asked for a finality it cannot check.
# What is not checked offline: that the anchoring transaction is in that block (that needs the
# block's transactions; online verification reads the transaction's block from the chain).
#
# The validators are ``--validators FILE``, else the configuration's ``chain.validators``.
# The validator file is UTF-8 text: one 0x address per line (blank lines skipped, ``#`` starts a
# comment), or a JSON array of address strings.

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from config import Settings
from ledger.errors import LedgerError
from ledger.qbft import BlockHeader, QbftHeaderError, quorum, verify_commit_seals
from ledger.signing import address_bytes
from models import AttestedRecord, ProofBundle, VerificationCheck

MAX_VALIDATORS = 1024


class ValidatorListError(LedgerError):
    """The pinned validator list cannot be read or holds something that is not an address."""

    advice = "Write one 0x address per line (# comments), or a JSON array of addresses."


@dataclass(frozen=True, slots=True)
class PinnedValidators:
    """The QBFT validator set a verifier trusts to finalise anchors (20-byte addresses)."""

    addresses: tuple[bytes, ...]
    source: str

    @classmethod
    def parse(cls, text: str, source: str) -> PinnedValidators:
        """Read a validator list (see the module's notes); ValidatorListError names the fault."""
        stripped = text.lstrip()
        if stripped.startswith("["):
            try:
                items = json.loads(stripped)
            except ValueError as exc:
                raise ValidatorListError(f"{source} is not a JSON array: {exc}") from None
        else:
            lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
            items = [line for line in lines if line]
        if not isinstance(items, list) or not 0 < len(items) <= MAX_VALIDATORS:
            raise ValidatorListError(f"{source} must name 1 to {MAX_VALIDATORS} validators")
        addresses = tuple(_address(item, source, n) for n, item in enumerate(items, 1))
        if len(set(addresses)) != len(addresses):
            raise ValidatorListError(f"{source} names a validator twice")
        return cls(addresses, source)

    @classmethod
    def read(cls, path: Path) -> PinnedValidators:
        """The validator list in ``path``."""
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidatorListError(f"cannot read the validator list {path}: {exc}") from None
        return cls.parse(text, str(path))


def pinned_validators(settings: Settings, path: Path | None) -> PinnedValidators | None:
    """The validators a verifier pins: the list in ``path`` (``--validators FILE``), else
    ``chain.validators``; None when neither names any."""
    if path is not None:
        return PinnedValidators.read(path)
    if settings.chain.validators:
        return PinnedValidators.parse(json.dumps(settings.chain.validators), "chain.validators")
    return None


def _address(item: object, source: str, number: int) -> bytes:
    raw = address_bytes(item) if isinstance(item, str) else None
    if raw is None:
        raise ValidatorListError(f"{source} item {number} is not a 0x address: {item!r}")
    return raw


def header_checks(bundle: ProofBundle, validators: PinnedValidators) -> list[VerificationCheck]:
    """One check per anchored record of ``bundle``: its receipt's QBFT header is the block the
    receipt names and carries a quorum of commit seals of ``validators``."""
    records = [("certificate", bundle.certificate)]
    records += [(f"record {n} ({r.kind.value})", r) for n, r in enumerate(bundle.records, 1)]
    return [
        header_check(label, record, validators)
        for label, record in records
        if record.anchor is not None
    ]


def header_check(
    label: str, record: AttestedRecord, validators: PinnedValidators
) -> VerificationCheck:
    """The QBFT finality of one record's anchor (see ``header_checks``)."""
    name = f"{label} QBFT seals"
    anchor = record.anchor
    assert anchor is not None
    if anchor.block_header is None:
        detail = (
            f"the receipt carries no QBFT block header (block {anchor.block_number} is not from "
            f"a QBFT chain), so the validators of {validators.source} cannot be checked"
        )
        return VerificationCheck(name, False, detail)
    try:
        header = BlockHeader.from_rlp(bytes.fromhex(anchor.block_header[2:]))
    except QbftHeaderError as exc:
        return VerificationCheck(name, False, f"the receipt's block header: {exc}")
    if header.number != anchor.block_number:
        detail = f"the header is block {header.number}, the receipt says {anchor.block_number}"
        return VerificationCheck(name, False, detail)
    verdict = verify_commit_seals(header, validators.addresses)
    if not verdict.ok:
        return VerificationCheck(name, False, f"block {header.number}: {_joined(verdict.problems)}")
    sealed = len(set(verdict.committers))
    detail = (
        f"block {header.number} (hash 0x{verdict.block_hash.hex()}) sealed by {sealed} of "
        f"{len(validators.addresses)} pinned validators ({quorum(len(validators.addresses))} "
        "needed)"
    )
    return VerificationCheck(name, True, detail)


def _joined(problems: Sequence[str]) -> str:
    return "; ".join(problems)
