"""Config test kit: the bundled demo as a raw TOML document, and the problems a document has."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError, demo_config_text, load_settings, parse_settings


def demo_raw() -> dict[str, Any]:
    """The bundled demo site, parsed but not validated, for a test to break one thing in."""
    return tomllib.loads(demo_config_text())


def problems_of(raw: dict[str, Any], environ: dict[str, str] | None = None) -> list[str]:
    """Every problem `check-config` reports for ``raw``, as ``path: message`` lines."""
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, environ=environ)
    return [str(p) for p in caught.value.problems]


def file_problems_of(path: Path) -> list[str]:
    """Every problem `check-config` reports for the file at ``path``, its folders included."""
    with pytest.raises(ConfigError) as caught:
        load_settings(path, check_secrets=False, check_files=True)
    return [str(p) for p in caught.value.problems]


def paths_of(problems: list[str]) -> list[str]:
    """The config paths of ``problems`` (what precedes the first ``": "``)."""
    return [problem.split(": ", 1)[0] for problem in problems]
