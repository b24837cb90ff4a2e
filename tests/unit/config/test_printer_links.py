"""check-config on printer mappings: the example profiles fit a site; a stray assignment fails."""

from __future__ import annotations

import tomllib

from config import parse_settings
from tests.support import REPO
from tests.unit.config.config_kit import demo_raw, problems_of

EXAMPLES = REPO / "config" / "examples"


def test_the_example_printer_files_fit_into_a_site_config() -> None:
    raw = demo_raw()
    for name in ("printer-vendor.toml", "printer-companion.toml"):
        example = tomllib.loads((EXAMPLES / name).read_text(encoding="utf-8"))
        raw["site"]["printers"] += example["site"]["printers"]
        raw.setdefault("printer_links", {}).update(example.get("printer_links", {}))
    environ = {"TRUSTFLOOR_DEMO_PASSWORD": "x", "ACME_PRINTER_PASSWORD": "y"}
    settings = parse_settings(raw, environ=environ | {"AM7_PRINTER_PASSWORD": "z"})
    assert settings.printer_links.mapping_of("acme-1").root == "acme:AcmeLPBF"
    assert settings.printer_links.mapping_of("am-7").root == "machinery:Machines/{printer}"


def test_a_profile_assigned_to_no_printer_of_the_site_is_a_problem() -> None:
    raw = demo_raw()
    raw["printer_links"] = {"use": {"am-9": "companion"}}
    assert problems_of(raw) == [
        "printer_links.use.am-9: no printer 'am-9' in site.printers: use one of ['am-1', 'am-2']"
    ]
