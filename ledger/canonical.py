"""RFC 8785 canonical JSON and the frozen, versioned byte encodings that get hashed and anchored."""

# =================================================================================================
# CONSENSUS-CRITICAL, FROZEN FORMAT.
#
# The bytes produced here are hashed into Merkle leaves whose roots are anchored on chain.
# Changing anything that alters them (the canonicalisation library or its version, a domain tag,
# the layout of a leaf or of a design key) breaks every anchored proof: certificates issued
# before the change would no longer hash to the leaves under their anchored roots.
#
# A new encoding gets a new tag (b"trustfloor-cert-v2\x00") beside the old one; every released
# tag stays readable forever. tests/unit/ledger/test_canonical.py pins the digests: if those
# tests fail, the change is wrong, not the tests.
# =================================================================================================

from __future__ import annotations

import hashlib
import json
from typing import TypeAlias

import rfc8785

from ledger.errors import CanonicalEncodingError

JsonValue: TypeAlias = (
    bool
    | int
    | float
    | str
    | list["JsonValue"]
    | tuple["JsonValue", ...]
    | dict[str, "JsonValue"]
    | None
)
"""What canonical JSON can hold (RFC 8785 §3.2.2: the I-JSON subset of RFC 7493)."""

JsonObject: TypeAlias = dict[str, JsonValue]

CERT_LEAF_TAG_V1 = b"trustfloor-cert-v1\x00"
"""Domain tag that opens every version-1 certificate leaf. Frozen."""

INSPECTION_LEAF_TAG_V1 = b"trustfloor-inspection-v1\x00"
"""Domain tag of a version-1 inspection record made after its certificate was issued. Frozen."""

REVOCATION_LEAF_TAG_V1 = b"trustfloor-revocation-v1\x00"
"""Domain tag of a version-1 revocation record. Frozen."""

SUSPENSION_LEAF_TAG_V1 = b"trustfloor-suspension-v1\x00"
"""Domain tag of a version-1 suspension record (a recall holds the certificate). Frozen."""

REINSTATEMENT_LEAF_TAG_V1 = b"trustfloor-reinstatement-v1\x00"
"""Domain tag of a version-1 reinstatement record (a suspension lifted). Frozen."""

LEAF_TAGS = (
    CERT_LEAF_TAG_V1,
    INSPECTION_LEAF_TAG_V1,
    REVOCATION_LEAF_TAG_V1,
    SUSPENSION_LEAF_TAG_V1,
    REINSTATEMENT_LEAF_TAG_V1,
)
"""Every released leaf tag; each stays readable forever."""

DESIGN_KEY_TAG_V1 = b"trustfloor-design-v1\x00"
"""Domain tag of the on-chain key of a design revision. Frozen."""

_MAX_SAFE_INTEGER = 2**53 - 1


def canonical_json(value: JsonValue) -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 bytes of ``value`` (RFC 8785 §3.2).

    Object members sorted by their UTF-16 code units (§3.2.3), ECMAScript number formatting
    (§3.2.2.3), minimal string escaping (§3.2.2.2), no whitespace. Integers must lie within
    ±(2^53 - 1) and floats must be finite (I-JSON, RFC 7493 §2.2).
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalEncodingError(f"value has no canonical JSON form: {exc}") from exc


def canonical_digest(value: JsonValue) -> bytes:
    """SHA-256 of the canonical JSON of ``value``: the content hash of a dossier or document."""
    return hashlib.sha256(canonical_json(value)).digest()


def record_leaf(tag: bytes, document: JsonObject) -> bytes:
    """The frozen leaf of a signed record: ``tag || JCS(document)``, ``tag`` one of LEAF_TAGS."""
    if tag not in LEAF_TAGS:
        raise CanonicalEncodingError(f"unknown leaf tag {tag!r}")
    if not isinstance(document, dict):
        raise CanonicalEncodingError(f"a record is a JSON object, not {type(document).__name__}")
    return tag + canonical_json(document)


def parse_record_leaf(tag: bytes, leaf: bytes) -> JsonObject:
    """The record inside a leaf opened by ``tag``, refusing any bytes this module would not emit.

    The body must be a JSON object already in canonical form, so one record has exactly
    one leaf and a re-encoded (whitespace, reordered, escaped) copy is rejected.
    """
    if not leaf.startswith(tag):
        name = tag.rstrip(b"\x00").decode("ascii", "replace")
        raise CanonicalEncodingError(f"leaf does not start with the {name} tag")
    body = leaf[len(tag) :]
    document = _strict_json_object(body)
    if canonical_json(document) != body:
        raise CanonicalEncodingError("leaf body is JSON but not in RFC 8785 canonical form")
    return document


def design_key(design_id: str, revision: str) -> bytes:
    """The 32-byte on-chain key of one design revision.

    ``SHA-256(DESIGN_KEY_TAG_V1 || JCS({"id": design_id, "revision": revision}))``; every
    revision is its own key, so a registered dossier never changes.
    """
    if not design_id or not revision:
        raise CanonicalEncodingError("a design key needs a non-empty id and revision")
    return hashlib.sha256(
        DESIGN_KEY_TAG_V1 + canonical_json({"id": design_id, "revision": revision})
    ).digest()


def _strict_json_object(body: bytes) -> JsonObject:
    """Parse UTF-8 JSON, refusing duplicate keys, NaN/Infinity and anything but an object."""
    try:
        value = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
            parse_int=_json_number_int,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CanonicalEncodingError(f"leaf body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise CanonicalEncodingError("leaf body is not a JSON object")
    return value


def _no_duplicate_keys(pairs: list[tuple[str, JsonValue]]) -> JsonObject:
    result: JsonObject = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalEncodingError(f"duplicate key {key!r} in leaf body")
        result[key] = value
    return result


def _json_number_int(text: str) -> int | float:
    """An integer literal as I-JSON reads it: beyond ±(2^53 - 1) it is an IEEE 754 double.

    JCS writes the float 2.0**53 as ``9007199254740992``; reading it back as a float keeps
    such leaves parseable (RFC 8785 §3.2.2.3, RFC 7493 §2.2).
    """
    value = int(text)
    return value if abs(value) <= _MAX_SAFE_INTEGER else float(value)


def _no_constant(name: str) -> JsonValue:
    raise CanonicalEncodingError(f"{name} is not a JSON number (RFC 8785 §3.2.2.3)")
