"""Proof bundles: a part's signed certificate, later records, proofs and anchors, as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError

from ledger.canonical import parse_record_leaf
from ledger.documents import LEAF_TAG
from ledger.errors import BundleError
from ledger.tables import LeafRow
from models import (
    AttestedRecord,
    InclusionProof,
    JsonTextError,
    ProofBundle,
    RecordKind,
    RevocationStatus,
    parse_json_text,
)


def attested_record(row: LeafRow) -> AttestedRecord:
    """A stored record with its inclusion proof once sealed and its receipt once anchored."""
    proof = None
    if row.batch is not None and row.leaf_index is not None:
        proof = InclusionProof(
            leaf_index=row.leaf_index,
            tree_size=row.batch.size,
            path=tuple(p.hex() for p in row.proof),
            root=row.batch.root.hex(),
        )
    return AttestedRecord(
        kind=row.kind,
        document=parse_record_leaf(LEAF_TAG[row.kind], LEAF_TAG[row.kind] + row.body),
        signature=row.signature.hex(),
        leaf_hash=row.leaf_hash.hex(),
        proof=proof,
        anchor=row.batch.receipt if row.batch is not None else None,
        checkpoint=row.batch.checkpoint if row.batch is not None else None,
    )


def build_bundle(
    certificate: LeafRow, later: Sequence[LeafRow], exported_at: datetime
) -> ProofBundle:
    """The bundle of one part: its certificate and every later record about it.

    Format 2 when a record was sealed into the site log: its proof leads to the log's signed
    checkpoint, which the record carries with the cosignatures received so far, and the bundle
    carries the log's verifier key. Format 1 otherwise, as bundles were before the log.
    """
    revoked = any(r.kind is RecordKind.REVOCATION for r in later)
    log_keys = [r.batch.log_key for r in (certificate, *later) if r.batch and r.batch.log_key]
    return ProofBundle(
        format="trustfloor.bundle/2" if log_keys else "trustfloor.bundle/1",
        log_key=log_keys[0] if log_keys else None,
        certificate=attested_record(certificate),
        records=tuple(attested_record(r) for r in later),
        revocation=RevocationStatus.REVOKED if revoked else RevocationStatus.NOT_REVOKED,
        exported_at=exported_at,
    )


def bundle_json(bundle: ProofBundle) -> str:
    """The bundle as the indented JSON text ``certificate export`` writes."""
    return bundle.model_dump_json(indent=2) + "\n"


def read_bundle(text: str | bytes) -> ProofBundle:
    """Parse (bounded, see models.jsontext) and validate a bundle's JSON; BundleError naming
    the limit exceeded or each problem's path."""
    try:
        raw = parse_json_text(text, what="the bundle")
    except JsonTextError as exc:
        raise BundleError(f"not a trustfloor proof bundle: {exc}") from None
    try:
        return ProofBundle.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:5]
        )
        raise BundleError(f"not a trustfloor proof bundle: {problems}") from None
