"""The canonical encoder writes exactly the rfc8785 library's bytes, and refuses what it refuses."""

from __future__ import annotations

import enum
import math
from datetime import timedelta

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import JsonValue, canonical_json
from ledger.documents import certificate_document
from ledger.errors import CanonicalEncodingError
from models.parts import DesignRef, InspectionResult, Sample, Verdict
from tests.unit.ledger.ledgerkit import T0, certificate

SAFE = 2**53 - 1
# names whose UTF-16 order differs from their code-point order sit beside ASCII ones
names = st.text(max_size=6) | st.sampled_from(["\ufb33", "\U0001f600", "\ue000", "a", "\x7f"])
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers(-SAFE, SAFE) | finite | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(names, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=1000, deadline=None)
@given(json_values)
def test_any_json_value_encodes_as_rfc8785_does(value: JsonValue) -> None:
    assert canonical_json(value) == rfc8785.dumps(value)


@settings(max_examples=3000, deadline=None)
@given(finite)
def test_every_double_is_written_as_rfc8785_writes_it(number: float) -> None:
    assert canonical_json(number) == rfc8785.dumps(number)


@pytest.mark.parametrize(
    "number",
    [
        1e21,
        1e20,
        123456789012345680000.0,
        1e-6,
        1e-7,
        1.5e-7,
        0.000001234,
        5e-324,
        1.7976931348623157e308,
        -0.0,
        -1e-7,
        2.0**53,
        100.0,
        0.1 + 0.2,
    ],
)
def test_ecmascript_number_boundaries(number: float) -> None:
    assert canonical_json(number) == rfc8785.dumps(number)


samples = st.lists(
    st.tuples(
        st.sampled_from(["laser_power_w", "chamber_o2_ppm", "bed_temp_c", "layer_time_s"]),
        st.integers(0, 59),
        st.floats(-1e4, 1e4, allow_nan=False),
    ),
    min_size=1,
    max_size=40,
)
identifiers = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(str.strip)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), identifiers, samples, st.none() | finite, identifiers)
def test_generated_certificates_encode_as_rfc8785_does(
    number: int,
    lot: str,
    drawn: list[tuple[str, int, float]],
    measured: float | None,
    inspector: str,
) -> None:
    ref = DesignRef(id="pump-impeller", revision="C", dossier_sha256="ab" * 32)
    cert = certificate(
        f"P-{number:09d}",
        ref,
        "0x" + "12" * 20,
        samples=[Sample(name, T0 + timedelta(seconds=s), v) for name, s, v in drawn],
        inspections=(
            InspectionResult(
                check="ct-scan", result=Verdict.PASS, inspector=inspector, at=T0, value=measured
            ),
        ),
    ).model_copy(update={"material_lot": lot})
    document = certificate_document(cert)
    assert canonical_json(document) == rfc8785.dumps(document)


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 7


def test_subclasses_of_json_types_encode_as_their_values() -> None:
    value = {Colour.RED: [Colour.RED, Size.BIG, True, None], "t": (1.5, "x")}
    assert canonical_json(value) == rfc8785.dumps(value)  # type: ignore[arg-type]  # subclasses


@pytest.mark.parametrize(
    "bad",
    [math.nan, -math.inf, 2**53, -(2**53), {1: "x"}, b"bytes", {"x": {1, 2}}, ["\ud800"]],
)
def test_what_rfc8785_refuses_is_refused(bad: object) -> None:
    with pytest.raises((rfc8785.CanonicalizationError, UnicodeEncodeError)):
        rfc8785.dumps(bad)  # type: ignore[arg-type]  # deliberately not JSON
    with pytest.raises(CanonicalEncodingError, match="no canonical JSON form"):
        canonical_json(bad)  # type: ignore[arg-type]  # deliberately not JSON
