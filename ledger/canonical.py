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
import math
from json.encoder import encode_basestring
from typing import TypeAlias

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

END_OF_LIFE_LEAF_TAG_V1 = b"trustfloor-end-of-life-v1\x00"
"""Domain tag of a version-1 end-of-life record (taken back, dismantled). Frozen."""

LEAF_TAGS = (
    CERT_LEAF_TAG_V1,
    INSPECTION_LEAF_TAG_V1,
    REVOCATION_LEAF_TAG_V1,
    SUSPENSION_LEAF_TAG_V1,
    REINSTATEMENT_LEAF_TAG_V1,
    END_OF_LIFE_LEAF_TAG_V1,
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

    The bytes equal the ``rfc8785`` library's for every input (property tests in
    tests/unit/ledger/test_canonical_encoder.py hold the two side by side); this encoder
    writes each value with the standard library's C string escaper and one join.
    """
    parts: list[str] = []
    try:
        _encode(value, parts)
        return "".join(parts).encode("utf-8")
    except (_NotCanonicalError, UnicodeEncodeError) as exc:
        raise CanonicalEncodingError(f"value has no canonical JSON form: {exc}") from exc


class _NotCanonicalError(ValueError):
    """A value outside I-JSON (raised inside the encoder, reported as CanonicalEncodingError)."""


_MIN_SAFE_INTEGER = -_MAX_SAFE_INTEGER


def _encode(value: object, out: list[str]) -> None:
    """Append the JCS text of ``value`` to ``out``; the types are tested in the order the
    rfc8785 library tests them, so subclasses (str enums, int enums) encode alike."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))  # type: ignore[arg-type]  # checked: a str
    elif kind is dict:
        _encode_object(value, out)  # type: ignore[arg-type]  # checked: a dict
    elif kind is float:
        out.append(_number(value))  # type: ignore[arg-type]  # checked: a float
    elif kind is list or kind is tuple:
        _encode_array(value, out)  # type: ignore[arg-type]  # checked: a list or tuple
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(_integer(value))  # type: ignore[arg-type]  # checked: an int
    else:
        _encode_subclass(value, out)


def _encode_subclass(value: object, out: list[str]) -> None:
    """Values of subclasses of the JSON types, as rfc8785 converts them; anything else fails."""
    if isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(_integer(int(value)))
    elif isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, float):
        out.append(_number(float(value)))
    elif isinstance(value, list | tuple):
        _encode_array(list(value), out)
    elif isinstance(value, dict):
        _encode_object(dict(value), out)
    else:
        raise _NotCanonicalError(f"unsupported type: {type(value)}")


def _encode_array(values: list[object] | tuple[object, ...], out: list[str]) -> None:
    if not values:
        out.append("[]")
        return
    out.append("[")
    for index, item in enumerate(values):
        if index:
            out.append(",")
        _encode(item, out)
    out.append("]")


def _encode_object(members: dict[object, object], out: list[str]) -> None:
    if not members:
        out.append("{}")
        return
    shape = tuple(members)
    plan = _PLANS.get(shape) or _plan(shape)
    out.append("{")
    for key, name in plan:
        out.append(name)
        value = members[key]
        kind = type(value)
        if kind is str:
            out.append(encode_basestring(value))  # type: ignore[arg-type]  # checked: a str
        elif kind is float:
            text = _float_repr(value)
            if "e" in text or "n" in text or text.endswith(".0"):
                text = _number(value)  # type: ignore[arg-type]  # checked: a float
            out.append(text)
        else:
            _encode(value, out)
    out.append("}")


_Plan = tuple[tuple[str, str], ...]
"""An object's members in RFC 8785 order, each with its ``,"name":`` text (no comma first)."""

_PLANS: dict[tuple[object, ...], _Plan] = {}
_PLANS_KEPT = 4096
"""Documents repeat their objects' member names: the order of each set of names is kept."""


def _plan(shape: tuple[object, ...]) -> _Plan:
    """The RFC 8785 order (§3.2.3) of the member names ``shape``, kept when likely to recur."""
    if not all(isinstance(key, str) for key in shape):
        raise _NotCanonicalError("object keys must be strings")
    keys: list[str] = member_order(list(shape))  # type: ignore[arg-type]  # checked above
    names = [_MEMBER_NAMES.get(key) or _member_name(key) for key in keys]
    plan = tuple(zip(keys, [names[0][1:], *names[1:]], strict=True))
    if len(_PLANS) < _PLANS_KEPT and len(shape) <= 64:
        _PLANS[shape] = plan
    return plan


_MEMBER_NAMES: dict[str, str] = {}
_MEMBER_NAMES_KEPT = 4096
"""Member names repeat from document to document: their escaped text is kept (up to this many)."""


def _member_name(key: str) -> str:
    """``,"key":`` with the key escaped (RFC 8785 §3.2.2.2); kept when it is likely to recur."""
    text = "," + encode_basestring(key) + ":"
    if len(_MEMBER_NAMES) < _MEMBER_NAMES_KEPT and type(key) is str and len(key) <= 64:
        _MEMBER_NAMES[key] = text
    return text


def member_order(names: list[str]) -> list[str]:
    """Object member names in RFC 8785 order (§3.2.3: by their UTF-16 code units)."""
    return sorted(names) if "".join(names).isascii() else sorted(names, key=_utf16)


def value_text(value: JsonValue) -> str:
    """The RFC 8785 text of one value, as :func:`canonical_json` writes it inside a document
    (strings not yet checked for lone surrogates: they fail when the whole text is encoded)."""
    kind = type(value)
    if kind is float:
        text = _float_repr(value)
        if "e" not in text and "n" not in text and not text.endswith(".0"):
            return text  # the common case of _number, without a call
    elif kind is str:
        return encode_basestring(value)  # type: ignore[arg-type]  # checked: a str
    elif value is None:
        return "null"
    try:
        if kind is float:
            return _number(value)  # type: ignore[arg-type]  # checked: a float
        if kind is int:
            return _integer(value)  # type: ignore[arg-type]  # checked: an int
    except _NotCanonicalError as exc:
        raise CanonicalEncodingError(f"value has no canonical JSON form: {exc}") from exc
    return canonical_json(value).decode("utf-8")


def _utf16(key: str) -> bytes:
    """RFC 8785 §3.2.3: members sort by the UTF-16 code units of their names."""
    return key.encode("utf-16-be", "surrogatepass")


def _integer(value: int) -> str:
    if not _MIN_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER:
        raise _NotCanonicalError(f"{value} exceeds safe integer domain for JSON floats")
    return str(value)


_float_repr = float.__repr__


def _number(value: float) -> str:
    """ECMA-262 Number::toString (7.1.12.1) of a finite double, as RFC 8785 §3.2.2.3 asks.

    Python's ``repr`` gives the same shortest round-trip digits; only where the two place the
    decimal point or switch to exponent notation differently is the text rebuilt.
    """
    text = _float_repr(value)
    if "e" not in text and "n" not in text:  # neither an exponent, nor inf nor nan
        if text.endswith(".0"):
            return text[:-2] if value else "0"  # -0.0 too is written 0
        return text
    if not math.isfinite(value):
        raise _NotCanonicalError(f"{value} is not representable in JCS")
    sign, text = ("-", text[1:]) if value < 0 else ("", text)
    mantissa, exponent = text.split("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    point = int(exponent) + 1  # digits d1 d2 ... with the decimal point after ``point`` of them
    return sign + _place_point(digits, point)


def _place_point(digits: str, point: int) -> str:
    """The ECMAScript text of 0.d1d2...dk × 10^point (k = len(digits), d1 not 0)."""
    k = len(digits)
    if k <= point <= 21:
        return digits + "0" * (point - k)
    if 0 < point <= 21:
        return digits[:point] + "." + digits[point:]
    if -6 < point <= 0:
        return "0." + "0" * -point + digits
    exponent = point - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


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
