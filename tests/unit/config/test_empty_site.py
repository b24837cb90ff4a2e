"""A site with nothing on its floor is a mistake, not "OK (0 machines)"; a verifier's file is not
a site and needs no machines."""

from __future__ import annotations

from typing import Any

import pytest

from config import ConfigError, parse_settings
from tests.unit.config.config_kit import demo_raw

EMPTY = (
    "site: no machines or printers; add [[site.machines]], [[site.opcua_machines]] or"
    " [[site.printers]] (the bundled demo site shows each)"
)


def site_problems_of(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, runs_site=True)
    return [str(p) for p in caught.value.problems]


def test_an_empty_file_is_no_site() -> None:
    assert site_problems_of({}) == [EMPTY]


def test_a_site_without_assets_is_refused() -> None:
    raw = demo_raw()
    raw["site"]["machines"] = []
    raw["site"]["printers"] = []
    raw["maintenance"]["spare_parts"] = []
    assert site_problems_of(raw) == [EMPTY]


def test_a_print_farm_of_printers_alone_is_a_site() -> None:
    raw = demo_raw()
    raw["site"]["machines"] = []
    raw["maintenance"]["spare_parts"] = []
    assert len(parse_settings(raw, runs_site=True).site.printers) == 2


def test_a_verifiers_file_with_no_floor_still_loads_for_the_ledger_commands() -> None:
    raw = {"data_dir": "var", "chain": {"chain_id": 4343}}
    assert parse_settings(raw).site.machines == ()
