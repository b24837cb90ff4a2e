"""Canonical JSON and the frozen leaf encoding: RFC 8785 examples and pinned digests."""

from __future__ import annotations

import hashlib
import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import (
    CERT_LEAF_TAG_V1,
    JsonObject,
    JsonValue,
    canonical_digest,
    canonical_json,
    design_key,
    parse_record_leaf,
    record_leaf,
)
from ledger.errors import CanonicalEncodingError
from ledger.merkle import hash_leaf


def certificate_leaf(document: JsonObject) -> bytes:
    """A certificate's version-1 leaf, as issuing and verification build it."""
    return record_leaf(CERT_LEAF_TAG_V1, document)


def certificate_leaf_hash(document: JsonObject) -> bytes:
    """The RFC 6962 §2.1 leaf hash of a certificate's version-1 leaf: what a batch tree holds."""
    return hash_leaf(certificate_leaf(document))


def parse_certificate_leaf(leaf: bytes) -> JsonObject:
    """The certificate inside a version-1 leaf, as verification reads it."""
    return parse_record_leaf(CERT_LEAF_TAG_V1, leaf)


# An example certificate. Its bytes and digests below are FROZEN: if a test here fails, the
# change broke every anchored proof; fix the change, never the expected values.
CERTIFICATE: JsonObject = {
    "schema": "trustfloor.certificate/1",
    "part": {"serial": "P-2026-000417", "design": {"id": "pump-impeller", "revision": "C"}},
    "dossier_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "printer": "am-cell-2",
    "order": "PO-88123",
    "material_lot": "Ti64-L2291",
    "evidence": {
        "samples": 18250,
        "parameters": {
            "laser_power_w": {"min": 271.5, "max": 284.25, "mean": 279.9, "excursions": 0},
            "chamber_o2_ppm": {"min": 120, "max": 870, "mean": 402.75, "excursions": 0},
        },
        "raw_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    },
    "inspection": [
        {"check": "cmm", "result": "pass"},
        {"check": "ct-scan", "result": "pass", "porosity_pct": 0.02},
    ],
    "verdict": "accepted",
    "issued_at": "2026-11-03T09:41:07Z",
    "issuer": "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "note": "Prüfung bestanden — ✓",
}

CERTIFICATE_JCS = (
    '{"dossier_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",'
    '"evidence":{"parameters":{"chamber_o2_ppm":{"excursions":0,"max":870,"mean":402.75,'
    '"min":120},"laser_power_w":{"excursions":0,"max":284.25,"mean":279.9,"min":271.5}},'
    '"raw_sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",'
    '"samples":18250},"inspection":[{"check":"cmm","result":"pass"},{"check":"ct-scan",'
    '"porosity_pct":0.02,"result":"pass"}],"issued_at":"2026-11-03T09:41:07Z",'
    '"issuer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","material_lot":"Ti64-L2291",'
    '"note":"Prüfung bestanden — ✓","order":"PO-88123","part":{"design":{"id":"pump-impeller",'
    '"revision":"C"},"serial":"P-2026-000417"},"printer":"am-cell-2",'
    '"schema":"trustfloor.certificate/1","verdict":"accepted"}'
).encode()


def test_leaf_tag_is_frozen() -> None:
    assert CERT_LEAF_TAG_V1 == b"trustfloor-cert-v1\x00"


def test_example_certificate_canonical_bytes_are_pinned() -> None:
    assert canonical_json(CERTIFICATE) == CERTIFICATE_JCS
    assert canonical_digest(CERTIFICATE).hex() == (
        "185604a345bb9cefc78cede677f8fad3816107e2d67d4ebed8f8bfd53c013fbd"
    )


def test_example_certificate_leaf_digests_are_pinned() -> None:
    leaf = certificate_leaf(CERTIFICATE)
    assert leaf == b"trustfloor-cert-v1\x00" + CERTIFICATE_JCS
    assert hashlib.sha256(leaf).hexdigest() == (
        "e7015fe3f0ec2014b883de212aaf42e74ddee34eca378063a6802b86ac1cd8f3"
    )
    assert certificate_leaf_hash(CERTIFICATE).hex() == (
        "51badee15f9b16cf3cbc170e0d43e301cc5c263e8a7cf801be28534e4f54424d"
    )
    assert certificate_leaf_hash(CERTIFICATE) == hashlib.sha256(b"\x00" + leaf).digest()


def test_empty_certificate_leaf_is_pinned() -> None:
    assert certificate_leaf({}) == b"trustfloor-cert-v1\x00{}"
    assert certificate_leaf_hash({}).hex() == (
        "16b94ad395d4ed8fee8a515e3aaac177a63ddd269560bea7ff94420220025404"
    )


def test_design_key_is_pinned() -> None:
    assert design_key("pump-impeller", "C").hex() == (
        "59c77d5c83f9bf0d26beaea770158e65760bb7df4b799725183375481460195a"
    )
    assert (
        design_key("pump-impeller", "C")
        == hashlib.sha256(b'trustfloor-design-v1\x00{"id":"pump-impeller","revision":"C"}').digest()
    )
    assert design_key("pump-impeller", "D") != design_key("pump-impeller", "C")


def test_design_key_needs_id_and_revision() -> None:
    with pytest.raises(CanonicalEncodingError, match="non-empty id and revision"):
        design_key("pump-impeller", "")


def test_rfc8785_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonical_json(json.loads(source)) == expected


def test_rfc8785_section_3_2_3_sorts_keys_by_utf16_code_units() -> None:
    value: JsonObject = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = [k for k in json.loads(canonical_json(value))]
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    "bad",
    [math.nan, math.inf, 2**53, {1: "non-string key"}, b"bytes", {"x": {1, 2}}, "\ud800"],
    ids=["nan", "inf", "big-int", "int-key", "bytes", "set", "lone-surrogate"],
)
def test_values_outside_i_json_are_refused(bad: object) -> None:
    with pytest.raises(CanonicalEncodingError, match="no canonical JSON form"):
        canonical_json(bad)  # type: ignore[arg-type]  # deliberately not JSON


def test_a_certificate_must_be_an_object() -> None:
    with pytest.raises(CanonicalEncodingError, match="JSON object, not list"):
        certificate_leaf([1, 2])  # type: ignore[arg-type]  # deliberately not an object


def test_leaf_round_trips() -> None:
    assert parse_certificate_leaf(certificate_leaf(CERTIFICATE)) == CERTIFICATE


def test_integral_floats_beyond_2_53_round_trip_as_floats() -> None:
    leaf = certificate_leaf({"x": 2.0**53, "y": -1e300})
    assert leaf == CERT_LEAF_TAG_V1 + b'{"x":9007199254740992,"y":-1e+300}'
    assert parse_certificate_leaf(leaf) == {"x": 2.0**53, "y": -1e300}
    with pytest.raises(CanonicalEncodingError, match="canonical form"):
        parse_certificate_leaf(CERT_LEAF_TAG_V1 + b'{"x":9007199254740993}')


@pytest.mark.parametrize(
    ("leaf", "reason"),
    [
        (b"trustfloor-cert-v2\x00{}", "tag"),
        (b"{}", "tag"),
        (CERT_LEAF_TAG_V1 + b'{"b":1, "a":2}', "not in RFC 8785 canonical form"),
        (CERT_LEAF_TAG_V1 + b'{"b":1,"a":2}', "not in RFC 8785 canonical form"),
        (CERT_LEAF_TAG_V1 + b'{"a":"\\u0041"}', "not in RFC 8785 canonical form"),
        (CERT_LEAF_TAG_V1 + b'{"a":1,"a":1}', "duplicate key"),
        (CERT_LEAF_TAG_V1 + b'{"a":NaN}', "not a JSON number"),
        (CERT_LEAF_TAG_V1 + b"[1]", "not a JSON object"),
        (CERT_LEAF_TAG_V1 + b'{"a":"\xff"}', "not UTF-8 JSON"),
        (CERT_LEAF_TAG_V1 + b'{"a":', "not UTF-8 JSON"),
    ],
)
def test_non_canonical_leaves_are_refused(leaf: bytes, reason: str) -> None:
    with pytest.raises(CanonicalEncodingError, match=reason):
        parse_certificate_leaf(leaf)


json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), json_values, max_size=6))
def test_canonical_form_is_a_fixed_point(document: JsonObject) -> None:
    encoded = canonical_json(document)
    reparsed = parse_certificate_leaf(certificate_leaf(document))
    assert canonical_json(reparsed) == encoded
    assert reparsed == document


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(), json_values, min_size=1, max_size=6), st.randoms())
def test_member_order_does_not_change_the_leaf(document: JsonObject, rnd: random.Random) -> None:
    items = list(document.items())
    rnd.shuffle(items)
    assert certificate_leaf(dict(items)) == certificate_leaf(document)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=4), st.integers(0, 9), min_size=1, max_size=4), st.data())
def test_any_changed_value_changes_the_leaf_hash(document: JsonObject, data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(document)))
    changed = {**document, key: 10}
    assert certificate_leaf_hash(changed) != certificate_leaf_hash(document)
    assert hash_leaf(certificate_leaf(document)) == certificate_leaf_hash(document)
