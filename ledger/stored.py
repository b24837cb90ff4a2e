"""Reading a part's signed records back from the store only once they re-derive from them."""

# The store keeps each record's body with its serial, leaf hash, signature and batch, but a
# row can be changed behind the ledger's back (two serials swapped, a lot or verdict edited).
# So every reader (certificate show and export, the report, the OPC UA certificate and bundle
# methods) takes a part's records through checked_part, which re-derives each one: the body is
# a canonical record (RFC 8785) naming the serial asked for, under which the row is kept; the
# body's tagged leaf hashes (RFC 6962 §2.1) to the stored leaf hash; the signature over that
# hash recovers the issuer the body names (the site itself, when the reader says who it is);
# once sealed, the leaf's inclusion proof leads to the stored batch root (RFC 9162 §2.1.3.2),
# the root and size its anchor receipt names; a later record refers to the certificate's leaf.
# Whether that root is on chain is for online verification of the exported bundle to say.

from __future__ import annotations

from dataclasses import dataclass

from ledger.canonical import JsonObject, parse_record_leaf
from ledger.documents import LEAF_TAG
from ledger.errors import (
    CanonicalEncodingError,
    ProofError,
    SigningError,
    StoredRecordAlteredError,
    UnknownRecordError,
)
from ledger.merkle import hash_leaf, root_from_inclusion_proof
from ledger.signing import address_bytes, checksum_address, recover_signer, same_address
from ledger.store import LedgerStore
from ledger.tables import LeafRow
from models import RecordKind

ALTERED = "the ledger store was altered"


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A part's certificate and later records as stored, each re-derived from its body."""

    certificate: LeafRow
    document: JsonObject
    """The certificate as signed, parsed."""
    later: list[LeafRow]


def checked_part(store: LedgerStore, serial: str, *, issuer: str | None = None) -> StoredPart:
    """The certificate of part ``serial`` and the later records about it, once each re-derives.

    ``issuer`` (the site's own address, when the reader knows it) must have signed them all.
    UnknownRecordError when the part has no certificate; StoredRecordAlteredError naming the
    record and what differs when the store was altered.
    """
    certificate = store.leaf(serial, RecordKind.CERTIFICATE)
    if certificate is None:
        raise UnknownRecordError(f"no certificate for part {serial}")
    document = checked_record(certificate, serial, issuer)
    later = store.records_about(serial)
    for record in later:
        refers_to = checked_record(record, serial, issuer).get("certificate")
        if refers_to != certificate.leaf_hash.hex():
            raise _altered(
                f"stored {_label(record)} for {serial} refers to certificate leaf {refers_to}, "
                f"not to the part's {certificate.leaf_hash.hex()}"
            )
    return StoredPart(certificate, document, later)


def checked_record(row: LeafRow, serial: str, issuer: str | None = None) -> JsonObject:
    """The document of a stored record about part ``serial``, once it re-derives (see above)."""
    document = _document(row, serial)
    if (held := document.get("serial")) != serial:
        raise _altered(f"stored {_label(row)} for {serial} holds serial {held}")
    if row.serial != serial:
        raise _altered(f"stored {_label(row)} for {serial} is kept under serial {row.serial}")
    derived = hash_leaf(LEAF_TAG[row.kind] + row.body)
    if derived != row.leaf_hash:
        raise _altered(
            f"stored {_label(row)} for {serial}: its body hashes to leaf {derived.hex()}, "
            f"not to its stored leaf hash {row.leaf_hash.hex()}"
        )
    _check_signer(row, serial, str(document.get("issuer")), issuer)
    _check_inclusion(row, serial)
    return document


def _document(row: LeafRow, serial: str) -> JsonObject:
    tag = LEAF_TAG[row.kind]
    try:
        return parse_record_leaf(tag, tag + row.body)
    except CanonicalEncodingError as exc:
        raise _altered(f"stored {_label(row)} for {serial} is not a signed record: {exc}") from None


def _check_signer(row: LeafRow, serial: str, named: str, site: str | None) -> None:
    """The signature recovers the issuer the body names, and that is ``site`` when given."""
    label = f"stored {_label(row)} for {serial}"
    try:
        signer = recover_signer(row.leaf_hash, row.signature)
    except SigningError as exc:
        raise _altered(f"{label}: its signature is malformed: {exc}") from None
    if signer != address_bytes(named):
        raise _altered(
            f"{label}: not signed by its issuer {named} (signed by {checksum_address(signer)})"
        )
    if site is not None and not same_address(named, site):
        raise _altered(f"{label}: issued by {named}, not by this site's issuer {site}")


def _check_inclusion(row: LeafRow, serial: str) -> None:
    """Once sealed: the proof leads to the batch root, the root its anchor receipt names."""
    batch = row.batch
    if batch is None:
        return
    label = f"stored {_label(row)} for {serial}"
    try:
        if row.leaf_index is None:
            raise ProofError("the row has no leaf index")
        root = root_from_inclusion_proof(row.leaf_index, batch.size, row.leaf_hash, row.proof)
    except ProofError as exc:
        raise _altered(
            f"{label}: its inclusion proof in batch {batch.id} is malformed: {exc}"
        ) from None
    if root != batch.root:
        raise _altered(
            f"{label}: leaf {row.leaf_index} of batch {batch.id} leads to root {root.hex()}, "
            f"not to the batch {batch.id} root {batch.root.hex()}"
        )
    receipt = batch.receipt
    if receipt is not None and (receipt.root, receipt.size) != (batch.root.hex(), batch.size):
        raise _altered(
            f"{label}: batch {batch.id} root {batch.root.hex()} of {batch.size} leaves is not "
            f"the root {receipt.root} of {receipt.size} leaves its anchor receipt names"
        )


def _label(row: LeafRow) -> str:
    return "certificate" if row.kind is RecordKind.CERTIFICATE else f"{row.kind.value} record"


def _altered(finding: str) -> StoredRecordAlteredError:
    return StoredRecordAlteredError(f"{finding}: {ALTERED}")
