"""Bounded JSON from outside: limits checked before the parser, clear errors, same values."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import InvalidRequestError
from models.jsontext import (
    MAX_JSON_DEPTH,
    JsonLimits,
    JsonNumberError,
    JsonTextError,
    JsonTooDeepError,
    JsonTooLongError,
    MalformedJsonError,
    json_nesting_depth,
    parse_json_text,
)

BRACKET_BOMB = "[" * 100_000 + "]" * 100_000

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=40,
)


def depth_of(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@settings(max_examples=300)
@given(json_values, st.booleans())
def test_json_within_the_limits_reads_as_the_standard_parser_reads_it(
    value: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert parse_json_text(text) == json.loads(text)
    assert parse_json_text(text.encode("utf-8")) == json.loads(text)


@settings(max_examples=300)
@given(json_values)
def test_the_bracket_scan_finds_the_depth_of_the_value(value: Any) -> None:
    assert json_nesting_depth(json.dumps(value)) == depth_of(value)


@settings(max_examples=500)
@given(st.text(alphabet='[]{}",:\\0123456789eE.-+ truefalsnul', max_size=200))
def test_any_text_is_a_value_or_a_json_text_error(text: str) -> None:
    with contextlib.suppress(JsonTextError):
        parse_json_text(text)


def test_the_bracket_bomb_is_refused_before_any_parser_recurses_into_it() -> None:
    with pytest.raises(JsonTooDeepError, match=f"deeper than the limit of {MAX_JSON_DEPTH} levels"):
        parse_json_text(BRACKET_BOMB, what="BundleJson")
    with pytest.raises(JsonTooDeepError, match=r"^ResultsJson "):
        parse_json_text("{" + '"a":{' * 65 + "}" * 66, what="ResultsJson")


def test_the_depth_limit_is_inclusive_and_configurable() -> None:
    assert parse_json_text(nested(MAX_JSON_DEPTH)) is not None
    with pytest.raises(JsonTooDeepError):
        parse_json_text(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(JsonTooDeepError, match="limit of 3 levels"):
        parse_json_text(nested(4), limits=JsonLimits(max_depth=3))


@pytest.mark.parametrize(
    "text",
    [
        json.dumps("[" * 10_000),
        json.dumps({"{" * 500: "]" * 500}),
        json.dumps(['\\"[[[[' * 200]),
    ],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    assert parse_json_text(text) == json.loads(text)


def test_text_longer_than_the_limit_is_refused_before_parsing() -> None:
    limits = JsonLimits(max_length=10)
    with pytest.raises(JsonTooLongError, match="11 characters long, above the limit of 10"):
        parse_json_text('"' + "x" * 9 + '"', limits=limits)
    with pytest.raises(JsonTooLongError, match="11 bytes long"):
        parse_json_text(b'"' + b"x" * 9 + b'"', limits=limits)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1" * 5000, "number of 5000 characters, above the limit of 64"),
        ('{"n": -' + "9" * 65 + "}", "number of 66 characters"),
        ("0." + "1" * 100, "number of 102 characters"),
        ("1e400", "beyond the range of a double"),
    ],
)
def test_numbers_are_bounded_as_they_are_read(text: str, message: str) -> None:
    with pytest.raises(JsonNumberError, match=message):
        parse_json_text(text)


def test_the_longest_allowed_integer_still_reads() -> None:
    assert parse_json_text("9" * 64) == int("9" * 64)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "is not JSON: Expecting value"),
        ('{"a": 1, "a": 2}', "repeats the key 'a'"),
        ("[NaN]", "holds NaN"),
        ("-Infinity", "holds -Infinity"),
        (b"\xff\xfe", "is not UTF-8"),
        ('["unterminated', "is not JSON"),
        ("]]]", "is not JSON"),
    ],
)
def test_malformed_text_is_named_as_such(text: str | bytes, message: str) -> None:
    with pytest.raises(MalformedJsonError, match=message):
        parse_json_text(text)


def test_every_refusal_is_an_invalid_request_naming_what_was_read() -> None:
    for text in ("1" * 5000, BRACKET_BOMB, "{", "x" * 10):
        with pytest.raises(InvalidRequestError, match=r"^BundleJson "):
            parse_json_text(text, what="BundleJson", limits=JsonLimits(max_length=5000))
