"""Bounded parsing of JSON text from outside: length, nesting depth and numbers checked first."""

# Client text reaches ``json.loads`` only after two cheap, linear checks: its length, and the
# depth of its brackets outside strings. The standard library's parser recurses on the C stack
# once per nesting level; with a raised recursion limit (the eth stack raises it to 100,000 at
# import) a deep enough bracket run overflows that stack and the process dies. Numbers are
# bounded as they are read: a long integer costs quadratic time to convert, and Python refuses
# more than 4,300 digits with a ValueError no caller expects.

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.errors import InvalidRequestError

MAX_JSON_LENGTH = 4 * 1024 * 1024
"""Characters (bytes, for bytes) of one JSON text from outside."""

MAX_JSON_DEPTH = 64
"""Nesting levels of arrays and objects; trustfloor's own documents use fewer than ten."""

MAX_JSON_NUMBER_LENGTH = 64
"""Characters of one number literal, sign, fraction and exponent included."""

_ESCAPE = re.compile(r"\\.", re.DOTALL)
"""A backslash and the character it escapes (RFC 8259 §7); outside strings it is an error."""

_STRING = re.compile(r'"[^"]*"')
"""A string literal once its escapes are gone."""

_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonTextError(InvalidRequestError):
    """JSON text from outside was refused: malformed, or beyond one of the limits."""


class JsonTooLongError(JsonTextError):
    """The text is longer than the length limit."""


class JsonTooDeepError(JsonTextError):
    """Arrays and objects are nested deeper than the depth limit."""


class JsonNumberError(JsonTextError):
    """A number literal is longer than the limit or beyond the range of a double."""


class MalformedJsonError(JsonTextError):
    """The text is not JSON (syntax, encoding, a repeated key, NaN or Infinity)."""


@dataclass(frozen=True, slots=True)
class JsonLimits:
    """What one JSON text from outside may hold."""

    max_length: int = MAX_JSON_LENGTH
    max_depth: int = MAX_JSON_DEPTH
    max_number_length: int = MAX_JSON_NUMBER_LENGTH


CLIENT_LIMITS = JsonLimits()
"""The limits for every JSON text a client sends: method arguments, bundle files."""


def parse_json_text(
    text: str | bytes, *, what: str = "the JSON text", limits: JsonLimits = CLIENT_LIMITS
) -> Any:
    """The value of JSON ``text`` (RFC 8259) from outside, parsed only once it is within ``limits``.

    Length and nesting depth are checked before any parser sees the text; number literals
    as they are read. Object keys must be unique and NaN / Infinity are refused (I-JSON,
    RFC 7493 §2.2, §2.3). Every refusal is a JsonTextError whose message starts with ``what``
    and names the limit that was exceeded.
    """
    checked = _bounded_text(text, what, limits.max_length)
    deepest = json_nesting_depth(checked, stop_above=limits.max_depth)
    if deepest > limits.max_depth:
        raise JsonTooDeepError(
            f"{what} nests arrays and objects deeper than the limit of {limits.max_depth} levels"
        )
    try:
        return json.loads(
            checked,
            object_pairs_hook=_unique_keys(what),
            parse_int=_bounded_int(what, limits.max_number_length),
            parse_float=_bounded_float(what, limits.max_number_length),
            parse_constant=_refused_constant(what),
        )
    except json.JSONDecodeError as error:
        raise MalformedJsonError(f"{what} is not JSON: {error}") from None


def json_nesting_depth(text: str, *, stop_above: int | None = None) -> int:
    """The deepest nesting of ``[`` and ``{`` outside string literals, found in linear time.

    Stops counting once the depth exceeds ``stop_above``. Closing brackets without an opener
    count as nothing: the parser reports them.
    """
    skeleton = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    depth = deepest = 0
    for bracket in skeleton:
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif depth > 0:
            depth -= 1
    return deepest


def _bounded_text(text: str | bytes, what: str, max_length: int) -> str:
    if len(text) > max_length:
        unit = "bytes" if isinstance(text, bytes) else "characters"
        raise JsonTooLongError(
            f"{what} is {len(text)} {unit} long, above the limit of {max_length} {unit}"
        )
    if isinstance(text, str):
        return text
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedJsonError(f"{what} is not UTF-8 (RFC 8259 §8.1): {error}") from None


def _check_number_length(what: str, literal: str, max_length: int) -> None:
    if len(literal) > max_length:
        raise JsonNumberError(
            f"{what} has a number of {len(literal)} characters, "
            f"above the limit of {max_length} characters"
        )


def _bounded_int(what: str, max_length: int) -> Callable[[str], int]:
    def parse(literal: str) -> int:
        _check_number_length(what, literal, max_length)
        return int(literal)

    return parse


def _bounded_float(what: str, max_length: int) -> Callable[[str], float]:
    def parse(literal: str) -> float:
        _check_number_length(what, literal, max_length)
        value = float(literal)
        if not math.isfinite(value):
            raise JsonNumberError(f"{what} has a number beyond the range of a double: {literal}")
        return value

    return parse


def _refused_constant(what: str) -> Callable[[str], Any]:
    def refuse(name: str) -> Any:
        raise MalformedJsonError(f"{what} holds {name}, which is not a JSON number")

    return refuse


def _unique_keys(what: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise MalformedJsonError(f"{what} repeats the key {key!r} in one object")
            result[key] = value
        return result

    return build
