"""Bundle files and texts are read by the bounded JSON parser: each limit is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.bundle import read_bundle
from ledger.errors import BundleError

BRACKET_BOMB = b"[" * 100_000 + b"]" * 100_000


def test_a_bracket_bomb_file_is_not_a_bundle_and_says_which_limit(tmp_path: Path) -> None:
    bomb = tmp_path / "bundle.json"
    bomb.write_bytes(BRACKET_BOMB)
    with pytest.raises(BundleError, match="deeper than the limit of 64 levels"):
        read_bundle(bomb.read_bytes())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format": "trustfloor.bundle/1", "n": ' + "9" * 5000 + "}", "limit of 64 characters"),
        (b" " * (4 * 1024 * 1024 + 1), "above the limit of 4194304 bytes"),
        ('{"format": "a", "format": "b"}', "repeats the key 'format'"),
        ('{"exported_at": NaN}', "holds NaN"),
    ],
)
def test_bundle_text_beyond_a_limit_is_refused_before_validation(
    text: str | bytes, message: str
) -> None:
    with pytest.raises(BundleError, match=message) as refused:
        read_bundle(text)
    assert str(refused.value).startswith("not a trustfloor proof bundle: the bundle ")
